"""`make run`'s local mailbox: an SMTP sink that keeps each message as an .eml file, and pages
on 127.0.0.1 that list and show them (with a JSON view for tests and scripts), reply to them
as their recipient, and stand in for the customer's website.

Files survive restarts, and a file name is its receipt time, so the listing needs no index.
"""

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from devstack import mailbox_pages as pages
from devstack import replies
from devstack.services import ensure_port_free

log = logging.getLogger("devstack.mailbox")

HOST = "127.0.0.1"
_ID = re.compile(r"\d{20}-[0-9a-f]{8}")
# A browser sends the name it resolved: refusing other names stops DNS rebinding from letting a
# web page read the mailbox.
_LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Whatever the page: no sniffing, and no address of the mailbox told to other sites (within it,
# browsers then name the page's origin, which a reply's form post is checked by).
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
MAX_REPLY_FORM = 64 * 1024


@dataclass(frozen=True)
class Replies:
    """Where replies written on the mailbox's pages are handed in, and the secret to sign with."""

    inbound_url: str
    secret: str


@dataclass(frozen=True)
class StoredMessage:
    id: str
    received_at: datetime
    message: EmailMessage

    def header(self, name: str) -> str:
        try:
            value = self.message.get(name)
        except Exception:
            # One malformed header must not break the page for every message.
            return ""
        return "" if value is None else str(value)

    def part(self, subtype: str) -> str | None:
        """The text of the plain or html body, or None without one."""
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None:
            return None
        try:
            content = body.get_content()
        except (LookupError, ValueError):
            # An unknown or lying charset: show the bytes as best we can rather than nothing.
            payload = body.get_payload(decode=True)
            return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
        return content if isinstance(content, str) else None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "date": self.header("Date"),
            "from": self.header("From"),
            "to": self.header("To"),
            "subject": self.header("Subject"),
            "text": self.part("plain"),
            "html": self.part("html"),
        }


class MailStore:
    """One .eml file per message in a directory, named by receipt time so names sort by age."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, content: bytes) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f".{message_id}.partial"
        partial.write_bytes(content)
        # Renamed whole, so the page never reads half a message.
        partial.replace(self.directory / f"{message_id}.eml")
        return message_id

    def get(self, message_id: str) -> StoredMessage | None:
        # Only names this store wrote: a request cannot reach any other file.
        if not _ID.fullmatch(message_id):
            return None
        try:
            content = (self.directory / f"{message_id}.eml").read_bytes()
        except FileNotFoundError:
            return None
        parsed = BytesParser(policy=policy.default).parsebytes(content)
        received_at = datetime.fromtimestamp(int(message_id[:20]) / 1e9, UTC)
        return StoredMessage(message_id, received_at, parsed)

    def messages(self) -> list[StoredMessage]:
        """Newest first."""
        if not self.directory.is_dir():
            return []
        ids = sorted((p.stem for p in self.directory.glob("*.eml")), reverse=True)
        return [m for m in map(self.get, ids) if m is not None]


class _Sink:
    """aiosmtpd handler: accepts every message for every recipient and stores it."""

    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self._store.save(envelope.original_content)
        log.info("mail from %s to %s", envelope.mail_from, ", ".join(envelope.rcpt_tos))
        return "250 Message accepted"


def _is_local(host_header: str) -> bool:
    try:
        return urlsplit(f"//{host_header}").hostname in _LOCAL_NAMES
    except ValueError:
        return False


class _Pages(BaseHTTPRequestHandler):
    store: MailStore
    replies: Replies | None
    api: str | None
    server_version = "devstack-mailbox"

    def do_GET(self) -> None:
        if not _is_local(self.headers.get("Host", HOST)):
            self._send(403, "text/plain; charset=utf-8", "only 127.0.0.1 or localhost")
            return
        path = urlsplit(self.path).path
        if path == "/":
            self._send(200, "text/html; charset=utf-8", pages.index_page(self.store.messages()))
        elif path == "/messages.json":
            listing = [m.as_json() for m in self.store.messages()]
            self._send(200, "application/json", json.dumps(listing, indent=1))
        elif (
            path.startswith("/messages/")
            and (message := self.store.get(path.removeprefix("/messages/"))) is not None
        ):
            page = pages.message_page(message, can_reply=self.replies is not None)
            self._send(200, "text/html; charset=utf-8", page)
        elif self.api and path.removeprefix("/site/") in pages.SITE_PAGES:
            page = pages.site_page(path.removeprefix("/site/"), self.api)
            policy = pages.site_policy(_origin(self.api))
            self._send(200, "text/html; charset=utf-8", page, policy)
        else:
            self._send(404, "text/plain; charset=utf-8", "not found")

    def do_POST(self) -> None:
        """A reply written on a message's page, handed in to the API."""
        host = self.headers.get("Host", HOST)
        origin = self.headers.get("Origin")
        # A page elsewhere may post a form here: only the mailbox's own pages may reply.
        if not _is_local(host) or (origin is not None and origin != f"http://{host}"):
            self._send(403, "text/plain; charset=utf-8", "only the mailbox's own pages may reply")
            return
        path = urlsplit(self.path).path
        message_id = path.removeprefix("/messages/").removesuffix("/reply")
        message = self.store.get(message_id) if path.endswith("/reply") else None
        if message is None or self.replies is None:
            self._send(404, "text/plain; charset=utf-8", "not found")
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_REPLY_FORM:
            self._send(413, "text/plain; charset=utf-8", "send a reply form of at most 64 KiB")
            return
        form = parse_qs(self.rfile.read(int(length)).decode("utf-8", "replace"))
        text = (form.get("text") or [""])[0]
        said = replies.hand_in(
            replies.reply_to(message.message, text), self.replies.inbound_url, self.replies.secret
        )
        page = pages.message_page(message, can_reply=True, said=said)
        self._send(200, "text/html; charset=utf-8", page)

    def _send(self, status: int, content_type: str, body: str, policy: str | None = None) -> None:
        data = body.encode()
        policy = policy or pages.mail_policy(_origin(self.api) if self.api else None)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", policy)
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr, into the middle of the run log.
        log.debug(format, *args)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Mailbox:
    """The SMTP sink and the page, both on 127.0.0.1, each serving from its own thread."""

    def __init__(
        self,
        directory: Path,
        *,
        smtp_port: int,
        page_port: int,
        replies: Replies | None = None,
        api: str | None = None,
    ) -> None:
        self.store = MailStore(directory)
        self.smtp_port = smtp_port
        self.page_port = page_port
        self.replies = replies
        # The API's public address: its images show in mail, its visit script on the website.
        self.api = api
        self._smtp: Controller | None = None
        self._page: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ensure_port_free(self.page_port, "mailbox page", "MAILBOX_PORT")
        ensure_port_free(self.smtp_port, "mailbox SMTP", "MAILBOX_SMTP_PORT")
        self.store.directory.mkdir(parents=True, exist_ok=True)
        # aiosmtpd logs every SMTP command at INFO, which would drown the run log.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        handler = type(
            "Pages",
            (_Pages,),
            {"store": self.store, "replies": self.replies, "api": self.api},
        )
        self._page = ThreadingHTTPServer((HOST, self.page_port), handler)
        threading.Thread(target=self._page.serve_forever, name="mailbox-page", daemon=True).start()
        controller = Controller(
            _Sink(self.store),
            hostname=HOST,
            port=self.smtp_port,
            # A fixed name: the default looks up this host's FQDN, which can stall on DNS.
            server_hostname="localhost",
            # The default second is too short on a busy machine.
            ready_timeout=30,
        )
        try:
            controller.start()
        except BaseException:
            self.stop()
            raise
        self._smtp = controller

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._page is not None:
            self._page.shutdown()
            self._page.server_close()
            self._page = None

    def __enter__(self) -> "Mailbox":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
