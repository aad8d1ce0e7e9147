"""An SMTP sink for runs against the real stack: it records who got which message, and refuses
the addresses it is told to, as a mail server would an unknown mailbox.

Only headers are kept (recipient, Message-ID, subject): enough to count deliveries per
recipient and to tell a redelivery (same Message-ID) from a second message.
"""

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    recipient: str
    message_id: str
    subject: str
    at: float  # time.monotonic() when the sink accepted it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class MailSink:
    """aiosmtpd on loopback, serving from its own thread; safe to read from any thread."""

    def __init__(self, refuse: Iterable[str] = ()) -> None:
        self.refuse = frozenset(address.lower() for address in refuse)
        self.port = free_port()
        self._received: list[Received] = []
        self._refused: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        controller = Controller(
            self,
            hostname=HOST,
            port=self.port,
            # A fixed name: the default looks up this host's FQDN, which can stall on DNS.
            server_hostname="localhost",
            # The default second is too short on a busy machine.
            ready_timeout=30,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            with self._lock:
                self._refused.append(address)
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        now = time.monotonic()
        with self._lock:
            self._received.extend(
                Received(
                    recipient=recipient.lower(),
                    message_id=str(headers.get("Message-ID", "")).strip(),
                    subject=str(headers.get("Subject", "")),
                    at=now,
                )
                for recipient in envelope.rcpt_tos
            )
        return "250 Message accepted"

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def count(self) -> int:
        with self._lock:
            return len(self._received)

    def refused(self) -> list[str]:
        with self._lock:
            return list(self._refused)

    def smtp_env(self) -> dict[str, str]:
        """Settings that point a worker here; they override any TLS or login from a .env file."""
        return {
            "SMTP_HOST": HOST,
            "SMTP_PORT": str(self.port),
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
            "SMTP_STARTTLS": "false",
            "SMTP_TLS": "false",
        }
