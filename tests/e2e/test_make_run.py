"""`make run`'s stack (python -m devstack.run) driven over real HTTP, then stopped with Ctrl-C."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from workflows.client import DATA_CONVERTER

ROOT = Path(__file__).resolve().parents[2]
# What each started stack printed, by its pid, to show when it does not stop cleanly.
OUTPUTS: dict[int, list[str]] = {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stack_env(data_dir: Path, **ports: int) -> dict[str, str]:
    # Inherited, these would point the stack at outside services instead of its embedded ones.
    outside = ("DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env.update({"DATA_DIR": str(data_dir), **{k.upper(): str(v) for k, v in ports.items()}})
    return env


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_stack(
    data_dir: Path, ports: dict[str, int], *, sigint_ignored: bool = False
) -> tuple[subprocess.Popen[str], str | None]:
    """Start `python -m devstack.run`; return once the API is up, with the admin key if printed.

    `sigint_ignored` starts it as a script's background job is started."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.run"],
        cwd=ROOT,
        env=_stack_env(data_dir, **ports),
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


async def _mailbox_until(port: int, subject: str) -> list[dict[str, str]]:
    """The mailbox's messages, once one with this subject has arrived."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as page:
        while True:
            messages: list[dict[str, str]] = (await page.get("/messages.json")).json()
            if any(m["subject"] == subject for m in messages):
                return messages
            assert time.monotonic() < deadline, f"no mail with subject {subject!r}: {messages}"
            await asyncio.sleep(0.3)


async def _until_completed(http: httpx.AsyncClient, enrollment_id: str) -> None:
    deadline = time.monotonic() + 30
    while (await http.get(f"/enrollments/{enrollment_id}")).json()["status"] != "completed":
        assert time.monotonic() < deadline, f"enrollment {enrollment_id} did not complete"
        await asyncio.sleep(0.3)


def _stack_ports() -> dict[str, int]:
    names = ("api_port", "temporal_port", "temporal_ui_port", "mailbox_port", "mailbox_smtp_port")
    return {name: _free_port() for name in names}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int], str, Path]]:
    ports = _stack_ports()
    process, key = start_stack(tmp_path / "data", ports)
    assert key, "the stack printed no admin key on its first start"
    try:
        yield process, ports, key, tmp_path / "data"
    finally:
        stop_everything(process, tmp_path / "data")


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


async def test_enroll_through_the_running_stack_then_ctrl_c_stops_everything(
    stack: tuple[subprocess.Popen[str], dict[str, int], str, Path],
) -> None:
    process, ports, key, data_dir = stack
    started = "".join(OUTPUTS[process.pid])
    assert "pgserver" not in started and "XDG_RUNTIME_DIR" not in started, started
    base = f"http://127.0.0.1:{ports['api_port']}"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.get("/health")).json()["status"] == "ok"
        contact = (
            await http.post("/contacts", json={"email": "ada@example.com", "first_name": "Ada"})
        ).json()
        definition = {
            "tracks": [
                {
                    "id": "main",
                    "steps": [
                        {
                            "id": "hello",
                            "kind": "email",
                            "subject": "Hi {{ contact.first_name }}",
                            "body": "x",
                        },
                        {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
                    ],
                }
            ]
        }
        sequence = (
            await http.post("/sequences", json={"name": "Greeting", "definition": definition})
        ).json()
        assert (await http.post(f"/sequences/{sequence['id']}/publish")).status_code == 201
        enrolled = await http.post(
            f"/sequences/{sequence['id']}/enrollments", json={"contact_id": contact["id"]}
        )
        assert enrolled.status_code == 201, enrolled.text

        await _until_completed(http, enrolled.json()["id"])
        assert (await http.get(f"/contacts/{contact['id']}")).json()["tags"] == ["greeted"]
        messages = (await http.get(f"/contacts/{contact['id']}/messages")).json()
        assert [m["subject"] for m in messages] == ["Hi Ada"]

    # Without SMTP_HOST the worker delivers to the stack's own mailbox.
    mailbox = await _mailbox_until(ports["mailbox_port"], "Hi Ada")
    assert [(m["to"], m["subject"]) for m in mailbox] == [("ada@example.com", "Hi Ada")]
    assert mailbox[0]["text"].startswith("x")

    # The Temporal UI serves, and operators find the enrollment by its search attributes.
    assert httpx.get(f"http://127.0.0.1:{ports['temporal_ui_port']}/").status_code == 200
    client = await Client.connect(
        f"127.0.0.1:{ports['temporal_port']}", data_converter=DATA_CONVERTER
    )
    query = (
        f"ContactId = '{contact['id']}' AND SequenceId = '{sequence['id']}' AND SequenceVersion = 1"
    )
    assert [w.id async for w in client.list_workflows(query)] == [enrolled.json()["workflow_id"]]

    interrupt(process)
    for pattern in (["-s", str(process.pid)], ["-f", str(data_dir)]):
        leftovers = subprocess.run(["pgrep", *pattern], capture_output=True, text=True)
        assert leftovers.stdout.strip() == "", f"processes of the stack still run: {pattern}"
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is still open"


@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ("api_port", "API"),
        ("mailbox_port", "mailbox page"),
        ("mailbox_smtp_port", "mailbox SMTP"),
    ],
)
def test_port_in_use_is_a_one_line_error(tmp_path: Path, setting: str, what: str) -> None:
    # The other checked ports are free ones, so the taken one is what stops the start.
    ports = {name: _free_port() for name in ("api_port", "mailbox_port", "mailbox_smtp_port")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports[setting] = taken = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack.run"],
            cwd=ROOT,
            env=_stack_env(tmp_path / "data", **ports),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: port {taken} ({what}) is already in use; stop what holds it or set {setting.upper()}"
    )


async def test_a_restart_resumes_a_sleeping_enrollment(
    stack: tuple[subprocess.Popen[str], dict[str, int], str, Path],
) -> None:
    process, ports, key, data_dir = stack
    base = f"http://127.0.0.1:{ports['api_port']}"
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        contact = (await http.post("/contacts", json={"email": "ada@example.com"})).json()
        definition = {
            "tracks": [
                {
                    "id": "main",
                    "steps": [
                        {"id": "wait", "kind": "delay", "duration": "PT4S"},
                        {"id": "tag", "kind": "apply_tag", "tag": "resumed"},
                    ],
                }
            ]
        }
        sequence = (
            await http.post("/sequences", json={"name": "Later", "definition": definition})
        ).json()
        await http.post(f"/sequences/{sequence['id']}/publish")
        enrolled = (
            await http.post(
                f"/sequences/{sequence['id']}/enrollments", json={"contact_id": contact["id"]}
            )
        ).json()

    interrupt(process)
    restarted, second_key = start_stack(data_dir, ports)
    try:
        assert second_key is None, "a second start must not create another admin"
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            await _until_completed(http, enrolled["id"])
            assert (await http.get(f"/contacts/{contact['id']}")).json()["tags"] == ["resumed"]
    finally:
        stop_everything(restarted, data_dir)


def test_ctrl_c_stops_a_stack_started_with_sigint_ignored(tmp_path: Path) -> None:
    # Its worker and API stop on SIGINT whatever they inherit; the stack must stop with them.
    process, _ = start_stack(tmp_path / "data", _stack_ports(), sigint_ignored=True)
    interrupt(process)
