"""`make run`'s stack (python -m devstack.run) driven over real HTTP, then stopped with Ctrl-C."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.e2e.stack import (
    OUTPUTS,
    ROOT,
    free_port,
    interrupt,
    mailbox_until,
    stack_env,
    stack_ports,
    start_stack,
    stop_everything,
    until_completed,
)
from workflows.client import DATA_CONVERTER


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int], str, Path]]:
    ports = stack_ports()
    process, key = start_stack(tmp_path / "data", ports)
    assert key, "the stack printed no admin key on its first start"
    try:
        yield process, ports, key, tmp_path / "data"
    finally:
        stop_everything(process, tmp_path / "data")


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

        await until_completed(http, enrolled.json()["id"])
        assert (await http.get(f"/contacts/{contact['id']}")).json()["tags"] == ["greeted"]
        messages = (await http.get(f"/contacts/{contact['id']}/messages")).json()
        assert [m["subject"] for m in messages] == ["Hi Ada"]

    # Without SMTP_HOST the worker delivers to the stack's own mailbox.
    mailbox = await mailbox_until(ports["mailbox_port"], "Hi Ada")
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
    ports = {name: free_port() for name in ("api_port", "mailbox_port", "mailbox_smtp_port")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports[setting] = taken = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack.run"],
            cwd=ROOT,
            env=stack_env(tmp_path / "data", **ports),
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
            await until_completed(http, enrolled["id"])
            assert (await http.get(f"/contacts/{contact['id']}")).json()["tags"] == ["resumed"]
    finally:
        stop_everything(restarted, data_dir)


def test_ctrl_c_stops_a_stack_started_with_sigint_ignored(tmp_path: Path) -> None:
    # Its worker and API stop on SIGINT whatever they inherit; the stack must stop with them.
    process, _ = start_stack(tmp_path / "data", stack_ports(), sigint_ignored=True)
    interrupt(process)
