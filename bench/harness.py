"""The embedded stack for benchmarks, in this process: Temporal dev server, PostgreSQL, the API.

Baseline and project run against the same server and database, one after the other, so their
ratio is measured under the same conditions.
"""

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.email import SmtpSender
from api.main import create_app
from bench import cpu
from bench.sink import HOST, MailSink
from devstack.services import DEV_SERVER_TUNING, start_postgres, temporal_binary
from settings import Settings
from store import users
from store.db import SessionMaker, create_engine, create_sessionmaker
from store.migrate import upgrade
from workflows import search_attributes
from workflows.client import DATA_CONVERTER

# Made per run: the benchmarks sign links as production does, with a secret of their own.
BENCH_LINK_SECRET = secrets.token_urlsafe(32)


@dataclass
class Services:
    client: Client
    sessionmaker: SessionMaker
    settings: Settings
    api: httpx.AsyncClient
    email: SmtpSender
    sink: MailSink
    # Whose CPU time a benchmark reads (bench.cpu): the Temporal server's, PostgreSQL's.
    server_pid: int
    postgres_pid: int

    def cpu_parts(self, workers: list[subprocess.Popen[bytes]]) -> cpu.Parts:
        """The stack's parts while `workers` run; the driver holds the API and the sink."""
        return {
            "server": lambda: cpu.cpu_seconds(self.server_pid),
            "workers": lambda: sum(cpu.cpu_seconds(w.pid) for w in workers),
            "postgres": lambda: cpu.postgres_seconds(self.postgres_pid),
            "api_and_sink": lambda: cpu.cpu_seconds(os.getpid()),
        }


@asynccontextmanager
async def embedded(*, temporal_in_memory: bool = False) -> AsyncIterator[Services]:
    """The server keeps its state on disk, as the embedded stack and the chaos stack do, with
    the same write-ahead log (devstack.services), which runs it about as fast as in memory; in
    memory it crashed (SIGSEGV in its SQLite) past about 60,000 open workflows."""
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as root:
        url, postgres = start_postgres(Path(root) / "pg")
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            search_attributes=search_attributes.ALL,
            data_converter=DATA_CONVERTER,
            dev_server_log_level="error",
            dev_server_database_filename=None
            if temporal_in_memory
            else str(Path(root) / "temporal.db"),
            dev_server_extra_args=DEV_SERVER_TUNING,
        )
        sink = MailSink()
        sink.start()
        port = env.client.service_client.config.target_host.rsplit(":", 1)[1]
        [server_pid] = cpu.pids_running("start-dev", f"--port {port}")
        [postgres_pid] = cpu.pids_running("postgres", "-D", str((Path(root) / "pg").resolve()))
        engine = create_engine(url)
        try:
            upgrade(url)
            key = await users.create_admin(url, email="bench@example.com")
            settings = Settings(
                database_url=url,
                temporal_address=env.client.service_client.config.target_host,
                temporal_task_queue="bench-enrollments",
                unsubscribe_secret=BENCH_LINK_SECRET,
            )
            app = create_app(settings)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://api",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=600,
                ) as api,
            ):
                yield Services(
                    client=env.client,
                    sessionmaker=create_sessionmaker(engine),
                    settings=settings,
                    api=api,
                    email=SmtpSender(
                        host=HOST,
                        port=sink.port,
                        sender="bench@example.com",
                        unsubscribe_secret=BENCH_LINK_SECRET,
                    ),
                    sink=sink,
                    server_pid=server_pid,
                    postgres_pid=postgres_pid,
                )
        finally:
            await engine.dispose()
            sink.stop()
            await env.shutdown()
            postgres.cleanup()


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, copies: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes of their own, as in production: they share no interpreter with the
    driver. `copies` of them poll the same task queue, as scaled workers do."""
    children = [
        subprocess.Popen([sys.executable, *args], env={**os.environ, **(env or {})})
        for _ in range(copies)
    ]
    try:
        time.sleep(5)  # polling before the clock starts
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} exited with {child.returncode}")
        yield children
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def worker_env(services: Services) -> dict[str, str]:
    return {
        "DATABASE_URL": services.settings.require_database_url(),
        "TEMPORAL_ADDRESS": services.settings.temporal_target,
        "TEMPORAL_TASK_QUEUE": services.settings.temporal_task_queue,
        **services.sink.smtp_env(),
        "MAIL_FROM": services.email.sender,
        "UNSUBSCRIBE_SECRET": BENCH_LINK_SECRET,
        "LOG_LEVEL": "WARNING",
    }


async def wait_until(
    probe: Callable[[], Awaitable[int]], target: int, timeout: float, every: float = 0.5
) -> float:
    """Poll a count until it reaches target; the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while True:
        count = await probe()
        if count >= target:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count} of {target} after {timeout:.0f}s")
        await asyncio.sleep(every)
