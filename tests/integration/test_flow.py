"""Branches, outcomes, loops and parallel tracks, run on the real server."""

from typing import Any

import httpx
from temporalio.worker import Worker

from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)


def _tag(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "apply_tag", "tag": step_id, **extra}


def _delay(step_id: str, duration: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "delay", "duration": duration, **extra}


async def test_go_to_jumps_and_end_sets_the_outcome(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    _tag("first", then={"go_to": "third"}),
                    _tag("closing", then={"end": "positive"}),
                    _tag("third", then={"go_to": "closing"}),
                ],
            }
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)

    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "positive"
    assert done["events"][-1]["detail"] == {"outcome": "positive"}
    ran = [e["step_id"] for e in done["events"] if e["kind"] == "step_completed"]
    assert ran == ["first", "third", "closing"]
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == [
        "closing",
        "first",
        "third",
    ]


async def test_parallel_tracks_interleave_and_the_enrollment_ends_when_both_have(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = {
        "tracks": [
            {"id": "marketing", "steps": [_delay("m-wait", "PT2S"), _tag("m-late")]},
            {
                "id": "internal",
                "steps": [_tag("i-early"), _delay("i-wait", "PT4S"), _tag("i-late")],
            },
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    enrollment = await enroll(admin, sequence_id, await new_contact(admin))

    done = await enrollment_status(admin, enrollment["id"], "completed")
    completed = [
        (e["track_id"], e["step_id"]) for e in done["events"] if e["kind"] == "step_completed"
    ]
    assert completed == [
        ("internal", "i-early"),
        ("marketing", "m-wait"),
        ("marketing", "m-late"),
        ("internal", "i-wait"),
        ("internal", "i-late"),
    ]
    assert done["outcome"] == "neutral"


async def test_a_track_that_ends_the_enrollment_stops_the_others(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = {
        "tracks": [
            {
                "id": "quick",
                "steps": [_delay("short", "PT1S"), _tag("lost", then={"end": "negative"})],
            },
            {"id": "slow", "steps": [_delay("long", "PT1H"), _tag("never")]},
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)

    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "negative"
    assert done["current_step"] is None
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["lost"]


async def test_a_loop_runs_each_visit_under_its_own_effect_key(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "nudge", "kind": "email", "subject": "Still there?", "body": "b"},
                    _delay("pause", "PT1S", then={"go_to": "nudge"}),
                ],
            }
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)

    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/messages"), lambda found: len(found) >= 3
    )
    assert (await admin.post(f"/enrollments/{enrollment['id']}/stop")).status_code == 202
    await enrollment_status(admin, enrollment["id"], "stopped")
    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert len({m["id"] for m in messages}) == len(messages) >= 3
    assert {m["subject"] for m in messages} == {"Still there?"}
