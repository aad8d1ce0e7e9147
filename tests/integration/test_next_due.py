"""`GET /enrollments/{id}` says when the enrollment next moves on by itself, exactly as the
workflow's own state has it, for every kind of wait and however the track reached it."""

from datetime import datetime
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tests.integration.helpers import (
    enroll,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)
from workflows.enrollment import EnrollmentWorkflow

EMAIL = {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"}
TAG = {"id": "tag", "kind": "apply_tag", "tag": "greeted"}


async def _due(admin: httpx.AsyncClient, client: Client, definition: dict[str, Any]) -> Any:
    """The enrollment once its projection shows a due time, and the workflow's earliest wake."""
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    body = await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda body: body["next_due_at"] is not None,
    )
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, body["workflow_id"])
    state = await handle.query(EnrollmentWorkflow.state)
    wakes = [track.wake_at for track in state.tracks.values() if track.wake_at]
    assert datetime.fromisoformat(body["next_due_at"]) == min(wakes)
    return body


def _track(track_id: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"id": track_id, "steps": list(steps)}


async def test_a_delay_after_steps_run_together_shows_when_it_ends(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    delay = {"id": "wait", "kind": "delay", "duration": "PT1H"}
    body = await _due(admin, client, {"tracks": [_track("main", EMAIL, TAG, delay)]})
    assert body["current_step"] == "wait"
    created = datetime.fromisoformat(body["created_at"])
    assert 3599 < (datetime.fromisoformat(body["next_due_at"]) - created).total_seconds() < 3660


async def test_the_earliest_of_the_tracks_waits_is_shown(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    long_delay = {"id": "later", "kind": "delay", "duration": "PT2H"}
    visit = {
        "id": "visit",
        "kind": "wait_for_event",
        "match": {"event": "page_visited"},
        "within": "PT30M",
    }
    definition = {"tracks": [_track("slow", long_delay), _track("watch", EMAIL, visit)]}
    body = await _due(admin, client, definition)
    created = datetime.fromisoformat(body["created_at"])
    assert 1799 < (datetime.fromisoformat(body["next_due_at"]) - created).total_seconds() < 1860


async def test_a_calendar_timer_shows_its_date_and_a_stop_clears_it(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    timer = {"id": "on", "kind": "date_timer", "on": "2031-03-01", "at": "10:30:00"}
    body = await _due(admin, client, {"tracks": [_track("main", TAG, timer)]})
    assert body["next_due_at"].startswith("2031-03-01T")

    stopped = await admin.post(f"/enrollments/{body['id']}/stop", json={"reason": "paused"})
    assert stopped.status_code == 202, stopped.text
    await eventually(
        lambda: get_json(admin, f"/enrollments/{body['id']}"),
        lambda now: (now["status"], now["next_due_at"]) == ("stopped", None),
    )
