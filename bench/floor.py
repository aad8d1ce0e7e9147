"""The floor under the steps and lateness benchmarks: what their steps must do, done the
shortest way, as one local activity of a textbook workflow (bench.textbook).

Read the contact; in one transaction record the message once by its key, the tag and where the
enrollment stands; hand the message to the mail server over a kept session; mark it sent. Plain
psycopg on kept connections, no ORM, no sending limits, tracking, fan-out or report: whatever an
engine adds to this, it pays for.
"""

import asyncio
from email.message import EmailMessage

import aiosmtplib
import psycopg
from temporalio import activity

# As many at once as the project's workers hold database connections (store.db).
CONNECTIONS = 20

TABLES = """
CREATE TABLE IF NOT EXISTS floor_message (
    effect_key text PRIMARY KEY, to_address text NOT NULL, subject text NOT NULL,
    body text NOT NULL, sent_at timestamptz);
CREATE TABLE IF NOT EXISTS floor_tag (
    contact_id uuid, tag text, PRIMARY KEY (contact_id, tag));
CREATE TABLE IF NOT EXISTS floor_enrollment (
    workflow_id text PRIMARY KEY, step int NOT NULL, updated_at timestamptz NOT NULL);
"""


def plain_url(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


async def create_tables(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        await connection.execute(TABLES)


class Floor:
    def __init__(self, dsn: str, smtp_host: str, smtp_port: int) -> None:
        self._dsn = dsn
        self._smtp = (smtp_host, smtp_port)
        self._connections: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
        self._sessions: list[aiosmtplib.SMTP] = []

    async def open(self) -> None:
        for _ in range(CONNECTIONS):
            connection = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            self._connections.put_nowait(connection)

    @activity.defn
    async def do_effects(self, contact_id: str, step: int) -> None:
        key = f"{activity.info().workflow_id}:{step}"
        connection = await self._connections.get()
        try:
            cursor = await connection.execute(
                "SELECT email, first_name FROM contact WHERE id = %s", [contact_id]
            )
            row = await cursor.fetchone()
            assert row is not None, f"contact {contact_id} is gone"
            to_address, first_name = row
            subject, body = f"Hi {first_name}", "b"
            async with connection.transaction():
                cursor = await connection.execute(
                    "INSERT INTO floor_message (effect_key, to_address, subject, body)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING effect_key",
                    [key, to_address, subject, body],
                )
                new = await cursor.fetchone() is not None
                await connection.execute(
                    "INSERT INTO floor_tag VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    [contact_id, f"step-{step}"],
                )
                await connection.execute(
                    "INSERT INTO floor_enrollment VALUES (%s, %s, now()) ON CONFLICT (workflow_id)"
                    " DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at",
                    [activity.info().workflow_id, step],
                )
            if new:
                await self._send(key, to_address, subject, body)
                await connection.execute(
                    "UPDATE floor_message SET sent_at = now() WHERE effect_key = %s", [key]
                )
        finally:
            self._connections.put_nowait(connection)

    @activity.defn
    async def tag_on_time(self, contact_id: str) -> None:
        """What the lateness benchmark's step after its timer must do: in one transaction, tag
        the contact and record where the enrollment stands."""
        workflow_id = activity.info().workflow_id
        connection = await self._connections.get()
        try:
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO floor_tag VALUES (%s, 'on-time') ON CONFLICT DO NOTHING",
                    [contact_id],
                )
                await connection.execute(
                    "INSERT INTO floor_enrollment VALUES (%s, 1, now()) ON CONFLICT (workflow_id)"
                    " DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at",
                    [workflow_id],
                )
        finally:
            self._connections.put_nowait(connection)

    async def _send(self, key: str, to_address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = "floor@example.com"
        message["To"] = to_address
        message["Subject"] = subject
        message["Message-ID"] = f"<{key}@floor.example.com>"
        message.set_content(body)
        session = self._sessions.pop() if self._sessions else None
        if session is None:
            session = aiosmtplib.SMTP(hostname=self._smtp[0], port=self._smtp[1])
            await session.connect()
        await session.send_message(message)
        self._sessions.append(session)
