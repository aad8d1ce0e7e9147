"""Enrolling by filter with a result per contact, and stopping or removing many at once."""

from typing import Any

import httpx
from temporalio.worker import Worker

from tests.integration.helpers import (
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
)

EMAIL_ONLY = {"tracks": [{"id": "main", "steps": [
    {"id": "wait", "kind": "delay", "duration": "PT1H"},
    {"id": "mail", "kind": "email", "subject": "s", "body": "b"},
]}]}  # fmt: skip


async def _contact(admin: httpx.AsyncClient, email: str, **fields: Any) -> str:
    return await new_contact(admin, email=email, **fields)


async def test_enroll_everyone_matching_a_filter(admin: httpx.AsyncClient, worker: Worker) -> None:
    sequence_id = await published_sequence(admin, EMAIL_ONLY)
    gold = await _contact(admin, "gold@example.com", fields={"plan": "gold"})
    opted_out = await _contact(
        admin, "no@example.com", fields={"plan": "gold"}, do_not_contact=["email"]
    )
    await _contact(admin, "silver@example.com", fields={"plan": "silver"})
    tagged = await _contact(admin, "tagged@example.com", fields={"plan": "gold"})
    await admin.post(f"/contacts/{tagged}/tags", json={"tag": "webinar"})
    await enroll(admin, sequence_id, tagged)

    response = await admin.post(
        f"/sequences/{sequence_id}/enrollments",
        json={"filter": {"field": "plan", "equals": "gold"}},
    )
    assert response.status_code == 200, response.text
    outcomes = {r["contact_id"]: r["outcome"] for r in response.json()["results"]}
    assert outcomes == {gold: "enrolled", opted_out: "do_not_contact", tagged: "already_enrolled"}

    by_tag = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"filter": {"tag": "webinar"}}
    )
    assert [r["outcome"] for r in by_tag.json()["results"]] == ["already_enrolled"]
    nothing = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"filter": {"tag": "nobody"}}
    )
    assert nothing.json()["results"] == []

    single = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": opted_out}
    )
    assert (single.status_code, single.json()["detail"]) == (
        409,
        f"contact {opted_out} opted out of every channel sequence {sequence_id} uses",
    )
    unclear = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"filter": {"field": "plan"}}
    )
    assert unclear.status_code == 422
    assert "give field and equals together" in unclear.text


async def test_stop_and_remove_many(admin: httpx.AsyncClient, worker: Worker) -> None:
    sequence_id = await published_sequence(admin, EMAIL_ONLY)
    first = await enroll(admin, sequence_id, await _contact(admin, "a@example.com"))
    second = await enroll(admin, sequence_id, await _contact(admin, "b@example.com"))
    for enrollment in (first, second):
        await enrollment_status(admin, enrollment["id"], "active")
    missing = "00000000-0000-0000-0000-000000000000"

    stopped = await admin.post(
        "/enrollments/stop",
        json={"enrollment_ids": [first["id"], second["id"], missing], "reason": "campaign paused"},
    )
    assert stopped.status_code == 200, stopped.text
    assert [(r["enrollment_id"], r["status_code"]) for r in stopped.json()["results"]] == [
        (first["id"], 202),
        (second["id"], 202),
        (missing, 404),
    ]
    for enrollment in (first, second):
        await enrollment_status(admin, enrollment["id"], "stopped")
    again = await admin.post("/enrollments/stop", json={"enrollment_ids": [first["id"]]})
    assert again.json()["results"][0]["status_code"] == 409

    resumed = await admin.post(
        "/enrollments/reactivate", json={"enrollment_ids": [first["id"], missing]}
    )
    assert [r["status_code"] for r in resumed.json()["results"]] == [202, 404]
    await enrollment_status(admin, first["id"], "active")

    removed = await admin.post(
        "/enrollments/remove", json={"enrollment_ids": [first["id"], second["id"]]}
    )
    assert [r["status_code"] for r in removed.json()["results"]] == [202, 202]
    assert await get_json(admin, f"/sequences/{sequence_id}/enrollments") == []


async def test_bulk_enrollment_records_every_row_before_any_worker_runs(
    admin: httpx.AsyncClient,
) -> None:
    # No worker polls this test's queue, so the rows can only come from the API itself.
    sequence_id = await published_sequence(admin, EMAIL_ONLY)
    first = await _contact(admin, "first@example.com")
    second = await _contact(admin, "second@example.com")

    response = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_ids": [first, second, first]}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["contact_id"], r["outcome"]) for r in results] == [
        (first, "enrolled"),
        (second, "enrolled"),
        (first, "already_enrolled"),
    ]
    assert results[2]["enrollment_id"] == results[0]["enrollment_id"]
    listed = await get_json(admin, f"/sequences/{sequence_id}/enrollments")
    assert sorted((e["id"], e["status"]) for e in listed) == sorted(
        (r["enrollment_id"], "active") for r in results[:2]
    )
