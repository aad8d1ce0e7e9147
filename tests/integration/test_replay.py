"""Committed histories replay against the current workflow code.

A change to workflows/ that would break enrollments already running fails here. To refresh the
histories after a deliberate, patched change: `make histories`, then commit tests/histories/.
"""

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from tests.integration.conftest import Receiver
from tests.integration.helpers import (
    declare_field,
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)
from worker import WORKFLOWS
from workflows.client import DATA_CONVERTER
from workflows.fan_out import fan_out_id
from workflows.removal import removal_id
from workflows.sandbox import workflow_runner

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
# "1" records histories not committed yet; "all" records every one again.
RECORDING = os.environ.get("RECORD_HISTORIES", "")


async def _completed(admin: httpx.AsyncClient, url: str) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _stopped_and_reactivated(admin: httpx.AsyncClient, url: str) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT2S"))
    contact_id = await new_contact(admin)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await admin.post(f"/enrollments/{enrollment['id']}/stop", json={"reason": "paused"})
    await enrollment_status(admin, enrollment["id"], "stopped")
    await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _failed_and_retried(admin: httpx.AsyncClient, url: str) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin, email=None)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await enrollment_status(admin, enrollment["id"], "failed")
    await admin.patch(f"/contacts/{contact_id}", json={"email": "ada@example.com"})
    await admin.post(f"/enrollments/{enrollment['id']}/retry")
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


def _track(*steps: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}], "settings": settings}


def _soon(seconds: int = 2) -> str:
    return (
        (datetime.now(UTC) + timedelta(seconds=seconds)).time().replace(microsecond=0).isoformat()
    )


def _quiet_for_seconds(seconds: int) -> dict[str, Any]:
    """Sending settings whose quiet hours began an hour ago and end in a few seconds."""
    started = (datetime.now(UTC) - timedelta(hours=1)).time().replace(microsecond=0).isoformat()
    return {"quiet_hours": {"start": started, "end": _soon(seconds)}}


async def _timers(admin: httpx.AsyncClient, url: str) -> str:
    await declare_field(admin, "renewal", "date")
    today = datetime.now(UTC).date().isoformat()
    definition = _track(
        # Far enough ahead that publishing and enrolling first cannot pass them.
        {"id": "at", "kind": "delay", "duration": "PT1S", "at": _soon(5)},
        {"id": "past", "kind": "date_timer", "on": "2020-01-01", "if_past": "skip"},
        {"id": "renewal", "kind": "field_timer", "field": "renewal", "at": _soon(6)},
        {"id": "event", "kind": "event_timer", "offset_days": 0, "at": _soon(7)},
    )
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin, fields={"renewal": today})
    response = await admin.post(
        f"/sequences/{sequence_id}/enrollments",
        json={"contact_id": contact_id, "event_date": today},
    )
    await enrollment_status(admin, response.json()["id"], "completed")
    return str(response.json()["workflow_id"])


async def _branches_and_tracks(admin: httpx.AsyncClient, url: str) -> str:
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "a", "kind": "apply_tag", "tag": "a", "then": {"go_to": "c"}},
                    {"id": "b", "kind": "apply_tag", "tag": "b", "then": {"end": "positive"}},
                    {"id": "c", "kind": "delay", "duration": "PT1S", "then": {"go_to": "b"}},
                ],
            },
            {"id": "side", "steps": [{"id": "slow", "kind": "delay", "duration": "PT1H"}]},
        ]
    }
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _people_and_decisions(admin: httpx.AsyncClient, url: str) -> str:
    definition = _track(
        {"id": "call", "kind": "call", "title": "Call {{ contact.first_name }}"},
        {"id": "vip", "kind": "condition", "check": {"has_tag": "vip"}},
        {
            "id": "visit",
            "kind": "wait_for_event",
            "match": {"event": "page_visited"},
            "within": "PT1H",
        },
        {"id": "never", "kind": "delay", "duration": "PT1H"},
        exit_rules=[{"event": "replied", "outcome": "positive"}],
    )
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    [task] = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda t: len(t) == 1
    )
    await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "no_answer"})
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda e: e["current_step"] == "visit",
    )
    await admin.post(
        "/events", json={"contact_id": contact_id, "event": "page_visited", "name": "/"}
    )
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda e: e["current_step"] == "never",
    )
    await admin.post("/events", json={"contact_id": contact_id, "event": "replied"})
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _communications_and_processes(admin: httpx.AsyncClient, url: str) -> str:
    definition = _track(
        {"id": "sms", "kind": "sms", "text": "Hi {{ contact.first_name }}"},
        {"id": "letter", "kind": "letter", "body": "Dear {{ contact.first_name }}"},
        {"id": "note", "kind": "note", "body": "Entered the series"},
        {"id": "field", "kind": "set_field", "field": "first_name", "value": "Augusta"},
        {"id": "deal", "kind": "opportunity", "title": "Upgrade", "value": "10"},
        {
            "id": "order",
            "kind": "order",
            "items": [{"name": "Seat", "quantity": 1, "unit_price": "5"}],
        },
        {"id": "post", "kind": "http_post", "url": url, "fields": {"email": "{{ contact.email }}"}},
    )
    enrollment = await enroll(
        admin,
        await published_sequence(admin, definition),
        await new_contact(
            admin, phone="+15550100", mailing_address={"line1": "1 Main St", "city": "X"}
        ),
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _tag_announced(admin: httpx.AsyncClient, url: str) -> str:
    definition = _track({"id": "tag", "kind": "apply_tag", "tag": "customer"})
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _email_delivered(admin: httpx.AsyncClient, url: str) -> str:
    definition = _track({"id": "hello", "kind": "email", "subject": "Hi", "body": "b"})
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _message_held(admin: httpx.AsyncClient, url: str) -> str:
    # Quiet hours that end in a few seconds hold the email, then it goes.
    definition = _track(
        {"id": "hello", "kind": "email", "subject": "Hi", "body": "b", "html": "<p>b</p>"},
        sending=_quiet_for_seconds(3),
    )
    contact_id = await new_contact(admin, timezone="UTC")
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _local_effects(admin: httpx.AsyncClient, url: str) -> str:
    # Database effects as local activities, the tag's own announcement taken in, batched writes.
    definition = _track(
        {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
        {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
        {"id": "note", "kind": "note", "body": "greeted {{ contact.first_name }}"},
        {"id": "todo", "kind": "create_task", "title": "Call back"},
        {"id": "wait", "kind": "delay", "duration": "PT1S"},
        {"id": "post", "kind": "http_post", "url": url, "fields": {"who": "{{ contact.email }}"}},
        exit_rules=[{"event": "tag_applied", "name": "never-applied"}],
    )
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _lean_steps(admin: httpx.AsyncClient, url: str) -> str:
    # A message in one call (held first by quiet hours, then sent at once), a tag applied and
    # announced in one call, projection writes between the local work.
    definition = _track(
        {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
        {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
        {"id": "greeted", "kind": "condition", "check": {"has_tag": "greeted"}},
        {"id": "note", "kind": "note", "body": "greeted {{ contact.first_name }}"},
        {"id": "wait", "kind": "delay", "duration": "PT1S"},
        {"id": "again", "kind": "email", "subject": "Again", "body": "b"},
        sending=_quiet_for_seconds(3),
    )
    contact_id = await new_contact(admin, timezone="UTC")
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _step_runs(admin: httpx.AsyncClient, url: str) -> str:
    # A run that ends at a message held by quiet hours, one that writes the projection before
    # the delay, and one that ends the enrollment.
    definition = _track(
        {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
        {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
        {"id": "note", "kind": "note", "body": "greeted {{ contact.first_name }}"},
        {"id": "wait", "kind": "delay", "duration": "PT1S"},
        {"id": "again", "kind": "email", "subject": "Again", "body": "b"},
        sending=_quiet_for_seconds(3),
    )
    contact_id = await new_contact(admin, timezone="UTC")
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _step_run_failed(admin: httpx.AsyncClient, url: str) -> str:
    # A run whose first step fails for good, retried once the contact is fixed.
    definition = _track(
        {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
        {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
        {"id": "wait", "kind": "delay", "duration": "PT1S"},
    )
    contact_id = await new_contact(admin, email=None)
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    await enrollment_status(admin, enrollment["id"], "failed")
    await admin.patch(f"/contacts/{contact_id}", json={"email": "ada@example.com"})
    await admin.post(f"/enrollments/{enrollment['id']}/retry")
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _event_fanned_out(admin: httpx.AsyncClient, url: str) -> str:
    # An event told to a waiting enrollment and enrolling the contact where a goal matches.
    waiting = _track(
        {
            "id": "wait",
            "kind": "wait_for_event",
            "match": {"event": "form_submitted"},
            "within": "PT1H",
        },
    )
    goal = _track(
        {"id": "tag", "kind": "apply_tag", "tag": "lead"},
        goals=[{"event": "form_submitted", "name": "demo"}],
    )
    contact_id = await new_contact(admin)
    await enroll(admin, await published_sequence(admin, waiting), contact_id)
    await published_sequence(admin, goal)
    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/enrollments"),
        lambda listed: [e["current_step"] for e in listed] == ["wait"],
    )
    answer = await admin.post(
        "/events", json={"contact_id": contact_id, "event": "form_submitted", "name": "demo"}
    )
    assert (answer.json()["enrollments_told"], len(answer.json()["enrolled"])) == (1, 1)
    return fan_out_id(answer.json()["event_id"])


async def _enrollment_removed(admin: httpx.AsyncClient, url: str) -> str:
    # A completed enrollment removed, and visibility checked until it lists none of its runs.
    enrollment = await enroll(
        admin, await published_sequence(admin, welcome_series("PT1S")), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    removed = await admin.delete(f"/enrollments/{enrollment['id']}")
    assert removed.status_code == 200, removed.text
    return removal_id(enrollment["id"])


SCENARIOS: dict[str, Callable[[httpx.AsyncClient, str], Awaitable[str]]] = {
    "welcome_completed": _completed,
    "stopped_and_reactivated": _stopped_and_reactivated,
    "failed_and_retried": _failed_and_retried,
    "timers": _timers,
    "branches_and_tracks": _branches_and_tracks,
    "people_and_decisions": _people_and_decisions,
    "communications_and_processes": _communications_and_processes,
    "tag_announced": _tag_announced,
    "email_delivered": _email_delivered,
    "message_held": _message_held,
    "local_effects": _local_effects,
    "lean_steps": _lean_steps,
    "step_runs": _step_runs,
    "step_run_failed": _step_run_failed,
    "event_fanned_out": _event_fanned_out,
    "enrollment_removed": _enrollment_removed,
}


@pytest.mark.skipif(not RECORDING, reason="records histories only under `make histories`")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_history(
    name: str,
    admin: httpx.AsyncClient,
    worker: Worker,
    client: Client,
    http_receiver: tuple[str, type[Receiver]],
) -> None:
    path = HISTORIES / f"{name}.json"
    if path.exists() and RECORDING != "all":
        pytest.skip("already recorded; RECORD_HISTORIES=all records it again")
    workflow_id = await SCENARIOS[name](admin, http_receiver[0])
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()  # the whole run's history, however long its last steps take
    history = await handle.fetch_history()
    recorded = _without_stack_traces(history.to_json_dict())
    path.write_text(json.dumps(recorded, indent=1) + "\n")


def _without_stack_traces(node: Any) -> Any:
    """Failures carry the recording machine's file paths; replay does not need them."""
    if isinstance(node, dict):
        return {k: "" if k == "stackTrace" else _without_stack_traces(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_stack_traces(item) for item in node]
    return node


# Under the sandbox, workflow code that reaches for I/O, the clock or randomness fails here;
# without it, as production workers run it.
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_history_replays(name: str, sandboxed: bool) -> None:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=DATA_CONVERTER,
        workflow_runner=workflow_runner(*WORKFLOWS, sandboxed=sandboxed),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
