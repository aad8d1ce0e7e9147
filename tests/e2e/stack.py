"""Starting and stopping `make run`'s stack (python -m devstack.run) for the end-to-end tests."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# What each started stack printed, by its pid, to show when it does not stop cleanly.
OUTPUTS: dict[int, list[str]] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stack_env(data_dir: Path, **ports: int) -> dict[str, str]:
    # Inherited, these would point the stack at outside services instead of its embedded ones.
    outside = ("DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env.update({"DATA_DIR": str(data_dir), **{k.upper(): str(v) for k, v in ports.items()}})
    return env


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_stack(
    data_dir: Path,
    ports: dict[str, int],
    *,
    sigint_ignored: bool = False,
    settings: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str | None]:
    """Start `python -m devstack.run`; return once the API is up, with the admin key if printed.

    `sigint_ignored` starts it as a script's background job is started."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.run"],
        cwd=ROOT,
        env={**stack_env(data_dir, **ports), **(settings or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    key = None
    output = OUTPUTS[process.pid] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        found = re.search(r"First admin API key \(shown once, keep it\): (\S+)", line)
        if found:
            key = found.group(1)
        if "API on http://" in line:
            break
    else:
        raise AssertionError("the stack exited while starting:\n" + "".join(output))
    # Keep reading so the stack never blocks on a full pipe.
    threading.Thread(target=output.extend, args=(process.stdout,), daemon=True).start()
    return process, key


def interrupt(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as in a terminal: the whole stack must stop, and exit 0."""
    os.killpg(process.pid, signal.SIGINT)
    code = process.wait(timeout=60)
    assert code == 0, f"the stack exited with {code}:\n" + "".join(OUTPUTS[process.pid][-80:])


def stack_ports() -> dict[str, int]:
    names = ("api_port", "temporal_port", "temporal_ui_port", "mailbox_port", "mailbox_smtp_port")
    return {name: free_port() for name in names}


def stop_everything(process: subprocess.Popen[str], data_dir: Path) -> None:
    """Whatever the test did, nothing it started outlives it: the stack is asked to stop, as
    Ctrl-C would, then killed; its PostgreSQL, a server of its own, is stopped in any case."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    postgres = data_dir / "postgres"
    if (postgres / "postmaster.pid").exists():
        from pgserver.postgres_server import get_server

        get_server(postgres, cleanup_mode="stop").cleanup()


async def mailbox_until(port: int, subject: str) -> list[dict[str, str]]:
    """The mailbox's messages, once one with this subject has arrived."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as page:
        while True:
            messages: list[dict[str, str]] = (await page.get("/messages.json")).json()
            if any(m["subject"] == subject for m in messages):
                return messages
            assert time.monotonic() < deadline, f"no mail with subject {subject!r}: {messages}"
            await asyncio.sleep(0.3)


async def until_completed(http: httpx.AsyncClient, enrollment_id: str) -> None:
    deadline = time.monotonic() + 30
    while (await http.get(f"/enrollments/{enrollment_id}")).json()["status"] != "completed":
        assert time.monotonic() < deadline, f"enrollment {enrollment_id} did not complete"
        await asyncio.sleep(0.3)
