"""SMTP sessions are reused between messages, and replaced when the server has closed them."""

import asyncio
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from activities.email import SmtpSender
from activities.smtp_sessions import KEPT
from tests.integration.conftest import TEST_LINK_SECRET as LINKS


class CountingServer:
    """aiosmtpd that records each message with the client end of the session it came over."""

    def __init__(self, idle_timeout: float = 300) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.received: list[tuple[str, tuple[str, int]]] = []
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            timeout=idle_timeout,
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.rcpt_tos[0], session.peer))
        return "250 Message accepted"

    def sessions(self) -> set[tuple[str, int]]:
        return {peer for _, peer in self.received}


def _server(idle_timeout: float = 300) -> Iterator[CountingServer]:
    server = CountingServer(idle_timeout)
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def smtp() -> Iterator[CountingServer]:
    yield from _server()


@pytest.fixture
def impatient_smtp() -> Iterator[CountingServer]:
    """A server that hangs up on a client silent for a second."""
    yield from _server(idle_timeout=1)


def _email(sender: SmtpSender, to: str) -> Message:
    return sender.compose(effect_key=f"key-{to}", to=to, subject="Hi", body="b")


async def test_messages_one_after_another_share_one_session(smtp: CountingServer) -> None:
    sender = SmtpSender(
        host="127.0.0.1", port=smtp.port, sender="campaigns@example.com", unsubscribe_secret=LINKS
    )
    for n in range(5):
        await sender.send(_email(sender, f"c{n}@example.com"))
    assert [to for to, _ in smtp.received] == [f"c{n}@example.com" for n in range(5)]
    assert len(smtp.sessions()) == 1
    await sender.sessions.close()


async def test_messages_at_once_each_get_a_session_and_the_extra_are_closed(
    smtp: CountingServer,
) -> None:
    sender = SmtpSender(
        host="127.0.0.1", port=smtp.port, sender="campaigns@example.com", unsubscribe_secret=LINKS
    )
    burst = KEPT + 4
    await asyncio.gather(*(sender.send(_email(sender, f"c{n}@example.com")) for n in range(burst)))
    assert len(smtp.received) == burst
    assert sender.sessions.opened == burst
    # The next burst reuses the sessions kept, and opens only what it lacks.
    await asyncio.gather(*(sender.send(_email(sender, f"d{n}@example.com")) for n in range(burst)))
    assert sender.sessions.opened == burst + (burst - KEPT)
    await sender.sessions.close()


async def test_a_refused_recipient_keeps_the_session_for_the_next_message(
    smtp: CountingServer,
) -> None:
    sender = SmtpSender(
        host="127.0.0.1", port=smtp.port, sender="campaigns@example.com", unsubscribe_secret=LINKS
    )
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await sender.send(_email(sender, "refused@example.com"))
    await sender.send(_email(sender, "ada@example.com"))
    assert [to for to, _ in smtp.received] == ["ada@example.com"]
    assert sender.sessions.opened == 1
    await sender.sessions.close()


async def test_a_session_the_server_closed_while_idle_is_replaced(
    impatient_smtp: CountingServer,
) -> None:
    sender = SmtpSender(
        host="127.0.0.1",
        port=impatient_smtp.port,
        sender="campaigns@example.com",
        unsubscribe_secret=LINKS,
    )
    await sender.send(_email(sender, "first@example.com"))
    await asyncio.sleep(2)  # the server hangs up on the idle session meanwhile
    await sender.send(_email(sender, "second@example.com"))
    assert [to for to, _ in impatient_smtp.received] == ["first@example.com", "second@example.com"]
    assert len(impatient_smtp.sessions()) == 2
    await sender.sessions.close()
