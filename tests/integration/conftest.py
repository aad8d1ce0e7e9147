"""Session-wide real services: the Temporal dev server binary and PostgreSQL.

PostgreSQL is embedded (pgserver) unless TEST_DATABASE_URL points at one whose tables may be
emptied. Each test gets empty tables, its own task queue and, where it asks, a worker and an
API client with an admin key.
"""

import asyncio
import email
import json
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.email import SmtpSender
from activities.outbound import OutboundPolicy
from api.main import create_app
from devstack.services import DEV_SERVER_TUNING, start_postgres, temporal_binary
from settings import Settings
from store import users
from store.db import SessionMaker, create_engine, create_sessionmaker, transaction
from store.migrate import upgrade
from store.models import Role
from worker import create_worker
from workflows import search_attributes
from workflows.client import DATA_CONVERTER

pytestmark = pytest.mark.integration

# The tests' HTTP receivers listen on loopback, which production refuses by default.
TEST_OUTBOUND = OutboundPolicy(allow_private=True, signing_secret="test-secret")
# What the tests' API and emails sign links with.
TEST_LINK_SECRET = "test-link-secret-for-the-suite"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        upgrade(external)
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="campaign-test-pg-") as directory:
        url, server = start_postgres(Path(directory) / "pg")
        upgrade(url)
        yield url
        server.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return create_sessionmaker(engine)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
        dev_server_extra_args=DEV_SERVER_TUNING,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def empty_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        tables = await connection.scalars(
            text(
                "select tablename from pg_tables where schemaname = 'public' "
                "and tablename <> 'alembic_version'"
            )
        )
        names = ", ".join(f'"{name}"' for name in tables)
        await connection.execute(text(f"truncate {names} cascade"))


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def settings(
    database_url: str, client: Client, task_queue: str, smtp_server: "SmtpSink"
) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=client.service_client.config.target_host,
        temporal_task_queue=task_queue,
        unsubscribe_secret=TEST_LINK_SECRET,
        # What the API sends itself (sign-in links) goes to the sink, as the worker's mail does.
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.sender.port,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def worker(
    client: Client, sessionmaker: SessionMaker, task_queue: str, smtp_sink: "SmtpSink"
) -> AsyncIterator[Worker]:
    async with (
        httpx.AsyncClient(timeout=5) as http,
        create_worker(
            client, sessionmaker, task_queue, http, outbound=TEST_OUTBOUND, email=smtp_sink.sender
        ) as running,
    ):
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app with its lifespan, called in-process over HTTP semantics."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http


@pytest_asyncio.fixture(loop_scope="session")
async def served_api(settings: Settings) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a loopback port: answers cross a socket, so a
    response sent before its commit would show as a miss."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def make_user_key(sessionmaker: SessionMaker, role: Role) -> str:
    async with transaction(sessionmaker) as session:
        user = await users.create_user(
            session, email=f"{role}-{uuid.uuid4()}@example.com", role=role
        )
        return await users.issue_api_key(session, user.id)


@pytest_asyncio.fixture(loop_scope="session")
async def admin(api: httpx.AsyncClient, sessionmaker: SessionMaker) -> httpx.AsyncClient:
    """The API client, authenticated as an admin."""
    api.headers["Authorization"] = f"Bearer {await make_user_key(sessionmaker, Role.admin)}"
    return api


class Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status: int
    # Statuses for the first posts, in order; `status` for the rest.
    first_statuses: list[int]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        raw = self.rfile.read(length)
        self.received.append(
            {
                "form": parse_qs(raw.decode()),
                "raw": raw,
                "key": self.headers.get("Idempotency-Key"),
                "signature": self.headers.get("X-Signature-256"),
            }
        )
        status = self.first_statuses.pop(0) if self.first_statuses else self.status
        self.send_response(status)
        self.end_headers()
        self.wfile.write(json.dumps({"ok": status < 400}).encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, type[Receiver]]]:
    """A real HTTP server on loopback that records the posts it receives."""
    handler = type("Handler", (Receiver,), {"received": [], "status": 200, "first_statuses": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    REFUSED = "refused@example.com"
    # Its messages are refused at DATA as too large, the server's final word.
    TOO_LARGE = "too-large@example.com"
    # Its messages wait at DATA until a test lets them through, holding their sender there.
    HELD = "held@example.com"

    def __init__(self) -> None:
        self.received: list[email.message.Message] = []
        # The server answers in a thread of its own: these are what a test and it share.
        self.held_arrived = threading.Event()
        self.let_held_through = threading.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.sender = SmtpSender(
            host="127.0.0.1",
            port=port,
            sender="campaigns@example.com",
            unsubscribe_secret=TEST_LINK_SECRET,
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.TOO_LARGE in envelope.rcpt_tos:
            return "552 5.3.4 message size exceeds fixed limit"
        if self.HELD in envelope.rcpt_tos:
            self.held_arrived.set()
            await asyncio.to_thread(self.let_held_through.wait, 60)
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.received if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> SmtpSink:
    smtp_server.received.clear()
    smtp_server.held_arrived.clear()
    smtp_server.let_held_through.clear()
    return smtp_server
