"""A real IMAP server for the tests: Debian's Dovecot, run from a configuration of our own on a
loopback port, with one mailbox whose mail lives in a temporary directory."""

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "replies"
PASSWORD = "replies-password"


def dovecot_missing() -> str | None:
    """Why the IMAP server cannot run here, or None."""
    if not os.access(DOVECOT, os.X_OK):
        return (
            "Dovecot is not installed: `make test` installs Debian's dovecot-imapd, or run "
            "`apt-get install dovecot-imapd`"
        )
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _mail_user() -> pwd.struct_passwd:
    """Whose the mail files are: Dovecot will not keep them as root, so then its own user's."""
    return pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())


def _config(directory: Path, port: int) -> str:
    me = pwd.getpwuid(os.getuid())
    mail = _mail_user()
    group = grp.getgrgid(os.getgid()).gr_name
    # As root, Dovecot's own unprivileged users run the login processes; otherwise this user.
    login_user = "dovenull" if os.getuid() == 0 else me.pw_name
    internal_user = "dovecot" if os.getuid() == 0 else me.pw_name
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
ssl = no
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {group}
mail_location = maildir:{directory}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={directory}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {me.pw_name}
  }}
  unix_listener stats-writer {{
    user = {me.pw_name}
  }}
}}
"""


@dataclass
class ImapServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "dovecot.conf"

    def start(self) -> None:
        # Dovecot's own users (running as root, it drops to them) read the password file.
        self.directory.chmod(0o755)
        mail = _mail_user()
        for sub in ("run", "state", "mail", "home"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.directory / sub, mail.pw_uid, mail.pw_gid)
        (self.directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.directory / "passwd").chmod(0o644)
        self.config.write_text(_config(self.directory, self.port))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = self.directory / "dovecot.log"
        raise RuntimeError(f"Dovecot did not start: {log.read_text() if log.exists() else ''}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def deliver(self, raw: bytes) -> None:
        """Put a mail in the inbox, as the mail server would on receiving it."""
        with imaplib.IMAP4("127.0.0.1", self.port) as imap:
            imap.login(USER, PASSWORD)
            imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)

    def flags(self) -> list[str]:
        """Each mail's flags, in the order they arrived."""
        with imaplib.IMAP4("127.0.0.1", self.port) as imap:
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            _, found = imap.uid("SEARCH", "ALL")
            flags = []
            for uid in (found[0] or b"").decode().split():
                _, fetched = imap.uid("FETCH", uid, "(FLAGS)")
                flags.append(str(fetched[0]))
            return flags

    @staticmethod
    def free(directory: Path) -> "ImapServer":
        return ImapServer(directory, _free_port())
