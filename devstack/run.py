"""`make run`: the whole system on one host, in the foreground, until Ctrl-C.

Starts what is not configured externally (the Temporal dev server unless TEMPORAL_ADDRESS is
set, PostgreSQL unless DATABASE_URL is set, a local mailbox unless SMTP_HOST is set), applies
migrations, creates the first admin key, then runs the worker and the API as child processes and
stops everything on exit.
"""

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from typing import Any

from api.services.people import hash_password
from devstack.mailbox import Mailbox, Replies
from devstack.services import (
    DevstackError,
    ensure_port_free,
    kept_secret,
    start_postgres,
    start_temporal,
    wait_for_port,
)
from settings import Settings, get_settings
from store import users
from store.migrate import upgrade

log = logging.getLogger("devstack")
FIRST_ADMIN = "admin@localhost"


def run(settings: Settings) -> None:
    children: list[subprocess.Popen[Any]] = []
    postgres = None
    mailbox = None
    try:
        ensure_port_free(settings.api_port, "API", "API_PORT")
        webhook_secret = settings.webhook_secret or kept_secret(settings.data_dir, "webhook-secret")
        # Links in emails lead to this stack's API, on whichever port it was given.
        public_base_url = (
            settings.public_base_url
            if "public_base_url" in settings.model_fields_set
            else f"http://127.0.0.1:{settings.api_port}"
        )
        if not settings.smtp_host:
            inbound = f"http://127.0.0.1:{settings.api_port}/webhooks/email/inbound"
            mailbox = Mailbox(
                settings.data_dir / "mailbox",
                smtp_port=settings.mailbox_smtp_port,
                page_port=settings.mailbox_port,
                replies=Replies(settings.inbound_webhook_url or inbound, webhook_secret),
                api=public_base_url,
            )
            mailbox.start()
            log.info(
                "Mailbox on http://127.0.0.1:%d (SMTP on 127.0.0.1:%d)",
                mailbox.page_port,
                mailbox.smtp_port,
            )
        database_url = settings.database_url
        if database_url is None:
            database_url, postgres = start_postgres(settings.data_dir / "postgres")
            log.info("PostgreSQL running in %s", settings.data_dir / "postgres")
        temporal_address = settings.temporal_address
        if temporal_address is None:
            children.append(
                start_temporal(settings.data_dir, settings.temporal_port, settings.temporal_ui_port)
            )
            temporal_address = settings.temporal_target
            log.info("Temporal UI on http://127.0.0.1:%d", settings.temporal_ui_port)

        upgrade(database_url)
        # The first admin's key and password are shown only now, and only on the first start.
        password = secrets.token_urlsafe(12)
        key = asyncio.run(
            users.create_admin(
                database_url,
                email=FIRST_ADMIN,
                only_if_no_users=True,
                password_hash=hash_password(password),
            )
        )
        if key:
            print(
                f"\nFirst admin API key (shown once, keep it): {key}\n"
                f"Sign in to the web app at {public_base_url}/app as {FIRST_ADMIN} with the "
                f"password {password} (shown once; change it with "
                f"`python -m api.cli set-password --email {FIRST_ADMIN}`)\n",
                flush=True,
            )

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "UNSUBSCRIBE_SECRET": settings.unsubscribe_secret or kept_secret(settings.data_dir),
            "WEBHOOK_SECRET": webhook_secret,
            "PUBLIC_BASE_URL": public_base_url,
            # The mailbox's stand-in website (on 127.0.0.1) is a tracked site, unless others are.
            "TRACKED_SITES": json.dumps(settings.tracked_sites or ["127.0.0.1"]),
        }
        # The API sends mail too (sign-in links): both to the mailbox, when it runs.
        mailing_env = env if mailbox is None else {**env, **_mailbox_smtp_env(mailbox)}
        children.append(subprocess.Popen([sys.executable, "worker.py"], env=mailing_env))
        api_env = {
            **mailing_env,
            "API_HOST": settings.api_host,
            "API_PORT": str(settings.api_port),
        }
        api = subprocess.Popen([sys.executable, "-m", "api"], env=api_env)
        children.append(api)
        wait_for_port(settings.api_port, 60, api, "the API")
        log.info("API on http://%s:%d (docs at /docs)", settings.api_host, settings.api_port)

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        raise DevstackError("a process of the stack exited; stopping the rest")
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in reversed(children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if postgres is not None:
            postgres.cleanup()
        if mailbox is not None:
            mailbox.stop()


def _mailbox_smtp_env(mailbox: Mailbox) -> dict[str, str]:
    # Overrides whatever .env says about TLS or a login: the local sink speaks plain SMTP.
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.smtp_port),
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "SMTP_STARTTLS": "false",
        "SMTP_TLS": "false",
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # A person starting the stack needs where things are and the first key, not every command
    # the embedded PostgreSQL runs, nor a platform note about its socket directory.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    # The worker and the API stop on SIGINT whatever they inherit, so the stack must too: started
    # with SIGINT ignored (a background job of a script), it would see them go and exit 1.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run(get_settings())
    except DevstackError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
