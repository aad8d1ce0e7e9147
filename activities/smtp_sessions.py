"""Open SMTP sessions kept between messages.

A session per message costs a TCP handshake, the greeting and EHLO (and STARTTLS and AUTH where
configured) on both ends, several times the cost of the message itself. Mail servers expect
clients to send many messages over one session; they close sessions idle for minutes, so one
is reused only while it is fresh and still connected.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import aiosmtplib

# Well under the five minutes RFC 5321 asks servers to wait for the next command.
IDLE_LIMIT = 30.0
# Sessions kept open for reuse; a burst beyond them opens more and closes the extra after.
KEPT = 8


class SmtpSessions:
    """Sessions to one server, each used by one message at a time."""

    def __init__(self, connect: Callable[[], Awaitable[aiosmtplib.SMTP]]) -> None:
        self._connect = connect
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        # Sessions belong to the event loop that opened them.
        self._loop: asyncio.AbstractEventLoop | None = None
        self.opened = 0

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        session = self._take() or await self._open()
        try:
            await session.sendmail(sender, recipients, message)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException):
            # The server answered: sendmail reset the envelope, and the session goes on.
            self._put_back(session)
            raise
        except BaseException:
            # Lost, timed out or cancelled mid-conversation: its state is unknown.
            session.close()
            raise
        self._put_back(session)

    async def close(self) -> None:
        """Say goodbye on every idle session."""
        idle, self._idle = self._idle, []
        for session, _ in idle:
            with contextlib.suppress(Exception):
                await session.quit()

    def _take(self) -> aiosmtplib.SMTP | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._idle, self._loop = [], loop
        now = time.monotonic()
        while self._idle:
            session, since = self._idle.pop()
            if session.is_connected and now - since < IDLE_LIMIT:
                return session
            session.close()
        return None

    async def _open(self) -> aiosmtplib.SMTP:
        session = await self._connect()
        self.opened += 1
        return session

    def _put_back(self, session: aiosmtplib.SMTP) -> None:
        if session.is_connected and len(self._idle) < KEPT:
            self._idle.append((session, time.monotonic()))
        else:
            session.close()
