"""The whole system in a scratch directory, each server a real process under this one's control.

Like `make run`, but on free ports, with an SMTP sink in this process, and with handles to kill
and restart the worker and the Temporal dev server while enrollments run:

    with Stack(Path(tmp)) as stack:
        async with stack.http() as api:           # the API, with an admin key
            ...
        stack.kill_worker(); stack.start_worker()
        stack.restart_temporal()                  # same port, same database file

Each child runs in its own session, so a Ctrl-C in the terminal reaches only this process, which
then stops the children in order (worker, API, Temporal, PostgreSQL, sink). Their output goes
to `<root>/logs/<name>.log`, appended across restarts.
"""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from temporalio.client import Client

from bench.sink import HOST, MailSink, free_port
from devstack.services import DEV_SERVER_TUNING, kept_secret, start_postgres, temporal_binary
from store import users
from store.migrate import upgrade
from workflows import search_attributes
from workflows.client import DATA_CONVERTER

# The project root: where `worker.py` and the `api` package are imported from.
PROJECT = Path(__file__).resolve().parents[1]
# Inherited, these would point the children at other services than this stack's.
_OUTSIDE = (
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "WORKER_METRICS_ADDRESS",
)
# worker.py logs this once it has connected and is about to poll.
_WORKER_READY = "worker polling task queue"

T = TypeVar("T")


class StackError(RuntimeError):
    """A part of the stack did not start or died; the message says which and where its log is."""


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    """Until something accepts on 127.0.0.1:port; fails early if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"process {process.args!r} exited with code {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise StackError(f"nothing listens on port {port} after {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def _stop(process: subprocess.Popen[Any] | None, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time; a process already gone is fine."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Stack:
    def __init__(
        self,
        root: Path,
        *,
        refuse: Iterable[str] = (),
        task_queue: str = "enrollments",
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`refuse`: addresses the sink answers 550; `env`: extra settings for worker and API."""
        self.root = root
        self.logs = root / "logs"
        self.sink = MailSink(refuse)
        self.task_queue = task_queue
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.database_url = ""
        self.admin_key = ""
        self.worker_starts = 0
        self._extra_env = dict(env or {})
        self._postgres: Any = None
        self._temporal: subprocess.Popen[bytes] | None = None
        self._api: subprocess.Popen[bytes] | None = None
        self._worker: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def temporal_address(self) -> str:
        return f"{HOST}:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def http(self, timeout: float = 60.0) -> httpx.AsyncClient:
        """A client for the API with the admin key; the caller closes it (`async with`)."""
        return httpx.AsyncClient(
            base_url=self.api_url,
            headers=self.admin_headers,
            timeout=timeout,
            # A proxy from the environment must not sit between us and loopback.
            trust_env=False,
            # uvicorn closes a connection idle for 5 s; one reused at that moment fails its
            # request (a ReadError), so idle connections are dropped here first.
            limits=httpx.Limits(keepalive_expiry=2.0),
        )

    async def temporal_client(self) -> Client:
        return await Client.connect(self.temporal_address, data_converter=DATA_CONVERTER)

    # -- the whole stack -------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Sink, Temporal, PostgreSQL, migrations, an admin key, the API, one worker."""
        try:
            self.logs.mkdir(parents=True, exist_ok=True)
            self.sink.start()
            self.start_temporal()
            self.database_url, self._postgres = start_postgres(self.root / "postgres")
            upgrade(self.database_url)
            key = _in_thread(users.create_admin(self.database_url, email="admin@localhost"))
            assert key is not None
            self.admin_key = key
            self._start_api()
            self.start_worker()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Everything this stack started, in reverse order; safe to call twice."""
        _stop(self._worker)
        _stop(self._api)
        self.stop_temporal()
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None
        self.sink.stop()

    def check(self) -> None:
        """Raise if the API or Temporal died on its own (the worker may be down on purpose)."""
        for name, process in (("API", self._api), ("Temporal dev server", self._temporal)):
            if process is not None and process.poll() is not None:
                raise StackError(
                    f"the {name} exited with code {process.returncode}; see {self.logs}"
                )

    # -- the worker ------------------------------------------------------------------------

    @property
    def worker_running(self) -> bool:
        return self._worker is not None and self._worker.poll() is None

    @property
    def worker_exit_code(self) -> int | None:
        """The last worker's exit code; None while it runs or before the first start."""
        return None if self._worker is None else self._worker.poll()

    def start_worker(self, timeout: float = 60) -> float:
        """Start `python worker.py`; return the seconds until it connected and began polling."""
        if self.worker_running:
            raise StackError("a worker is already running")
        log = self.logs / "worker.log"
        offset = log.stat().st_size if log.exists() else 0
        began = time.monotonic()
        self._worker = self._spawn("worker", [sys.executable, "worker.py"], self._worker_env())
        self.worker_starts += 1
        while _WORKER_READY not in _read_from(log, offset):
            if self._worker.poll() is not None:
                raise StackError(
                    f"the worker exited with code {self._worker.returncode} while starting; "
                    f"see {log}"
                )
            if time.monotonic() - began > timeout:
                raise StackError(f"the worker did not start polling within {timeout:.0f}s")
            time.sleep(0.1)
        return time.monotonic() - began

    def kill_worker(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight activities are abandoned mid-way."""
        if self._worker is not None and self._worker.poll() is None:
            self._worker.kill()
            self._worker.wait()

    def stop_worker(self) -> None:
        """SIGTERM: the worker finishes what it is doing, then exits."""
        _stop(self._worker)

    # -- Temporal --------------------------------------------------------------------------

    def start_temporal(self, timeout: float = 60) -> float:
        """The dev server on this stack's port and database file; seconds until it listens."""
        began = time.monotonic()
        self._temporal = self._spawn(
            "temporal",
            [
                temporal_binary(),
                "server",
                "start-dev",
                "--ip",
                HOST,
                "--port",
                str(self.temporal_port),
                "--headless",
                # On disk, so a restart finds every workflow where it was.
                "--db-filename",
                str(self.root / "temporal.db"),
                "--log-level",
                "warn",
                *search_attributes.dev_server_flags(),
                *DEV_SERVER_TUNING,
            ],
            dict(os.environ),
        )
        wait_for_port(self.temporal_port, timeout, self._temporal)
        return time.monotonic() - began

    def stop_temporal(self) -> None:
        _stop(self._temporal)
        self._temporal = None

    def restart_temporal(self, pause: float = 0.0) -> float:
        """Stop the dev server, wait `pause` seconds, start it again on the same state.

        Returns how long its port was closed. The worker and API are left alone: whether they
        reconnect on their own is for the caller to see.
        """
        began = time.monotonic()
        self.stop_temporal()
        time.sleep(pause)
        self.start_temporal()
        return time.monotonic() - began

    # -- helpers ---------------------------------------------------------------------------

    def _start_api(self) -> None:
        # Warnings only: a line per request would bury what matters in a run of thousands.
        env = {
            "LOG_LEVEL": "WARNING",
            **self._base_env(),
            "API_HOST": HOST,
            "API_PORT": str(self.api_port),
            "PUBLIC_BASE_URL": self.api_url,
        }
        self._api = self._spawn("api", [sys.executable, "-m", "api"], env)
        wait_for_port(self.api_port, 60, self._api)

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _OUTSIDE}
        return {
            # Plain lines: these logs are read by a person after a run went wrong.
            "LOG_FORMAT": "text",
            **env,
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "PYTHONUNBUFFERED": "1",
            "UNSUBSCRIBE_SECRET": kept_secret(self.root),
            **self._extra_env,
        }

    def _worker_env(self) -> dict[str, str]:
        # INFO at least, so the log says when it is polling; the sink's settings win over a
        # .env file.
        return {**self._base_env(), "LOG_LEVEL": "INFO", **self.sink.smtp_env()}

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            log.write(f"\n--- {time.strftime('%H:%M:%S')} starting {name}\n".encode())
            log.flush()
            return subprocess.Popen(
                command,
                cwd=PROJECT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own: this works when the caller is async code too."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for error reports."""
    text = _read_from(path, 0)
    return "\n".join(text.splitlines()[-lines:])
