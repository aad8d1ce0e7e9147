"""A step run that ends the enrollment writes its end, on the real server."""

import asyncio
import json
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    new_contact,
    published_sequence,
)
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import StopRequest


def _track(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}]}


async def _local_activities(client: Client, workflow_id: str) -> list[str]:
    """The local activities the enrollment's run recorded, in order."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        json.loads(event.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    ]


async def test_a_run_that_ends_the_enrollment_writes_its_end_in_the_same_call(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    definition = _track(
        {"id": "first", "kind": "apply_tag", "tag": "first"},
        {"id": "last", "kind": "apply_tag", "tag": "last", "then": {"end": "positive"}},
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)

    done = await enrollment_status(admin, enrollment["id"], "completed")

    assert done["outcome"] == "positive"
    assert done["ended_at"] is not None
    assert done["current_step"] is None
    assert [(e["kind"], e["step_id"]) for e in done["events"]] == [
        ("enrolled", None),
        ("step_completed", "first"),
        ("step_completed", "last"),
        ("completed", None),
    ]
    assert done["events"][-1]["detail"] == {"outcome": "positive"}
    # The enrolled row, then the run: no write of the end after it.
    ran = await _local_activities(client, enrollment["workflow_id"])
    assert ran == ["record_progress_batch", "run_steps"]


async def test_a_stop_heard_while_the_ending_run_went_on_is_followed_by_the_end(
    admin: httpx.AsyncClient, worker: Worker, client: Client, smtp_sink: SmtpSink
) -> None:
    # The mail server holds the run's message until the stop is in: the workflow task is
    # heartbeaten meanwhile, so the stop lands before the run's result.
    definition = _track({"id": "last", "kind": "email", "subject": "Hi", "body": "b"})
    contact_id = await new_contact(admin, email=SmtpSink.HELD)
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    assert await asyncio.to_thread(smtp_sink.held_arrived.wait, 30)

    handle = client.get_workflow_handle(enrollment["workflow_id"])
    await handle.execute_update(EnrollmentWorkflow.stop, StopRequest(reason="late"))
    smtp_sink.let_held_through.set()

    done = await enrollment_status(admin, enrollment["id"], "completed")
    # The run recorded the end it made; the stop came after it, and the end follows the stop,
    # so the row and the log's last word agree with how the run ended.
    assert [e["kind"] for e in done["events"]] == [
        "enrolled",
        "step_completed",
        "completed",
        "stopped",
        "completed",
    ]
    assert done["outcome"] == "neutral"
    assert len(smtp_sink.to(SmtpSink.HELD)) == 1
