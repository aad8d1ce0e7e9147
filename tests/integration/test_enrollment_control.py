"""Stop, reactivate, duplicate enrollment and permanent failures, on the real server."""

import asyncio
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tests.integration.conftest import Receiver, SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import Status


async def test_stop_during_delay_then_reactivate(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT3S"))
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, enrollment["workflow_id"])

    stop = await admin.post(
        f"/enrollments/{enrollment['id']}/stop", json={"reason": "asked to pause"}
    )
    assert stop.status_code == 202, stop.text
    stopped = await enrollment_status(admin, enrollment["id"], "stopped")
    assert stopped["events"][-1]["detail"] == {"reason": "asked to pause"}

    # The signal arrived while the timer slept; the timer fires, and nothing follows it.
    await asyncio.sleep(4.5)
    state = await handle.query(EnrollmentWorkflow.state)
    assert state.status == Status.stopped
    assert state.tracks["main"].step_id == "welcome"
    assert await get_json(admin, f"/contacts/{contact_id}/messages") == []
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == []

    again = await admin.post(f"/enrollments/{enrollment['id']}/stop")
    assert again.status_code == 409
    assert "only a running enrollment can be stopped" in again.json()["detail"]

    reactivate = await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    assert reactivate.status_code == 202, reactivate.text
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert [(e["kind"], e["step_id"]) for e in done["events"]] == [
        ("enrolled", None),
        ("stopped", None),
        ("step_completed", "wait"),
        ("reactivated", None),
        ("step_completed", "welcome"),
        ("step_completed", "tag"),
        ("completed", None),
    ]
    assert len(await get_json(admin, f"/contacts/{contact_id}/messages")) == 1
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["welcomed"]

    finished = await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    assert finished.status_code == 409
    assert "completed" in finished.json()["detail"]


async def test_second_active_enrollment_is_refused(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1H"))
    contact_id = await new_contact(admin)
    first = await enroll(admin, sequence_id, contact_id)

    second = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert second.status_code == 409
    assert (
        second.json()["detail"]
        == f"contact {contact_id} is already enrolled in sequence {sequence_id}"
    )

    other = await new_contact(admin, email="grace@example.com")
    bulk = await admin.post(
        f"/sequences/{sequence_id}/enrollments",
        json={"contact_ids": [contact_id, other, "00000000-0000-0000-0000-000000000000"]},
    )
    assert bulk.status_code == 200, bulk.text
    outcomes = [(r["contact_id"], r["outcome"]) for r in bulk.json()["results"]]
    assert outcomes == [
        (contact_id, "already_enrolled"),
        (other, "enrolled"),
        ("00000000-0000-0000-0000-000000000000", "not_found"),
    ]
    assert bulk.json()["results"][0]["enrollment_id"] == first["id"]
    listed = await get_json(admin, f"/sequences/{sequence_id}/enrollments")
    assert sorted(e["contact_id"] for e in listed) == sorted([contact_id, other])


async def test_permanent_failure_marks_enrollment_failed_and_retry_resumes(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin, email=None)
    enrollment = await enroll(admin, sequence_id, contact_id)

    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == f"step 'welcome': contact {contact_id} has no email address"
    assert failed["current_step"] == "welcome"

    assert await get_json(admin, f"/contacts/{contact_id}/messages") == []

    early = await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    assert early.status_code == 409

    # An operator fixes the contact, then retries the step.
    fixed = await admin.patch(f"/contacts/{contact_id}", json={"email": "ada@example.com"})
    assert fixed.status_code == 200, fixed.text
    retry = await admin.post(f"/enrollments/{enrollment['id']}/retry")
    assert retry.status_code == 202, retry.text
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["failure_reason"] is None
    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert [m["to_address"] for m in messages] == ["ada@example.com"]


async def test_a_retry_that_fails_again_shows_failed_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin, email=None)
    enrollment = await enroll(admin, sequence_id, contact_id)
    reason = f"step 'welcome': contact {contact_id} has no email address"
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == reason

    for failures in (2, 3):
        if failures == 2:
            retry = await admin.post(f"/enrollments/{enrollment['id']}/retry")
            assert retry.status_code == 202, retry.text
        else:  # the bulk route, which answers for each
            unknown = "00000000-0000-0000-0000-000000000000"
            retry = await admin.post(
                "/enrollments/retry", json={"enrollment_ids": [enrollment["id"], unknown]}
            )
            assert [r["status_code"] for r in retry.json()["results"]] == [202, 404]
        events = await eventually(
            lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
            lambda body, failures=failures: (  # type: ignore[misc]
                [e["kind"] for e in body["events"]].count("step_failed") == failures
            ),
        )
        assert (events["status"], events["failure_reason"]) == ("failed", reason)


async def test_a_retried_post_refused_again_shows_failed_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker, http_receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = http_receiver
    handler.status = 400
    steps = [
        {"id": "welcome", "kind": "email", "subject": "Welcome", "body": "Hello"},
        {"id": "crm", "kind": "http_post", "url": url},
        {"id": "tag", "kind": "apply_tag", "tag": "synced"},
    ]
    sequence_id = await published_sequence(admin, {"tracks": [{"id": "main", "steps": steps}]})
    enrollment = await enroll(admin, sequence_id, await new_contact(admin))
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"].startswith("step 'crm': ")
    for posts in (2, 3):
        retry = await admin.post(f"/enrollments/{enrollment['id']}/retry")
        assert retry.status_code == 202, retry.text
        again = await eventually(
            lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
            lambda body, posts=posts: (  # type: ignore[misc]
                len(handler.received) == posts and body["status"] == "failed"
            ),
        )
        assert again["failure_reason"] == failed["failure_reason"]


def _two_tracks(url: str, **settings: str) -> dict[str, Any]:
    return {
        "settings": settings,
        "tracks": [
            {
                "id": "emails",
                "steps": [
                    {"id": "wait", "kind": "delay", "duration": "PT2S"},
                    {"id": "hello", "kind": "email", "subject": "Hello", "body": "b"},
                    {"id": "sent", "kind": "apply_tag", "tag": "emailed"},
                ],
            },
            {"id": "crm", "steps": [{"id": "post", "kind": "http_post", "url": url}]},
        ],
    }


async def test_a_failure_parks_its_own_track_while_the_others_go_on(
    admin: httpx.AsyncClient,
    worker: Worker,
    http_receiver: tuple[str, type[Receiver]],
    smtp_sink: SmtpSink,
) -> None:
    url, handler = http_receiver
    handler.status = 400
    sequence_id = await published_sequence(admin, _two_tracks(url))
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)

    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"].startswith("step 'post': POST ")
    # The email track was not held up by the other track's failure.
    tagged = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}"), lambda c: c["tags"] == ["emailed"]
    )
    assert tagged["tags"] == ["emailed"]
    assert [m["Subject"] for m in smtp_sink.to("ada@example.com")] == ["Hello"]
    assert (await get_json(admin, f"/enrollments/{enrollment['id']}"))["status"] == "failed"

    handler.status = 200
    assert (await admin.post(f"/enrollments/{enrollment['id']}/retry")).status_code == 202
    await enrollment_status(admin, enrollment["id"], "completed")
    assert len(handler.received) == 2


async def test_a_sequence_can_say_a_failure_stops_every_track(
    admin: httpx.AsyncClient, worker: Worker, http_receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = http_receiver
    handler.status = 400
    sequence_id = await published_sequence(admin, _two_tracks(url, on_failure="stop_all"))
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    await enrollment_status(admin, enrollment["id"], "failed")
    await asyncio.sleep(4)  # past the email track's delay
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == []
    handler.status = 200
    assert (await admin.post(f"/enrollments/{enrollment['id']}/retry")).status_code == 202
    await enrollment_status(admin, enrollment["id"], "completed")
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["emailed"]
