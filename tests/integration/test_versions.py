"""Published versions, migrating running enrollments, and archiving."""

from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tests.integration.helpers import enroll, enrollment_status, eventually, get_json, new_contact
from workflows import search_attributes


def _definition(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}]}


WAIT = {"id": "wait", "kind": "delay", "duration": "PT4S"}
HOLD = {"id": "hold", "kind": "task", "title": "Hold"}


async def _sequence(admin: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    created = await admin.post("/sequences", json={"name": "Nurture", "definition": definition})
    sequence_id: str = created.json()["id"]
    assert (await admin.post(f"/sequences/{sequence_id}/publish")).status_code == 201
    return sequence_id


async def _republish(
    admin: httpx.AsyncClient, sequence_id: str, definition: dict[str, Any]
) -> None:
    edited = await admin.put(
        f"/sequences/{sequence_id}", json={"name": "Nurture", "definition": definition}
    )
    assert edited.status_code == 200, edited.text
    assert (await admin.post(f"/sequences/{sequence_id}/publish")).status_code == 201


async def test_running_enrollments_keep_their_version_until_migrated(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    sequence_id = await _sequence(
        admin, _definition(WAIT, {"id": "old", "kind": "apply_tag", "tag": "v1"})
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    await _republish(
        admin, sequence_id, _definition(WAIT, {"id": "new", "kind": "apply_tag", "tag": "v2"})
    )

    migrated = await admin.post(f"/sequences/{sequence_id}/migrate")
    assert migrated.status_code == 200, migrated.text
    assert migrated.json() == {"version": 2, "migrated": 1, "not_migrated": []}

    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["version"] == 2
    assert any(
        e["kind"] == "migrated" and e["detail"] == {"from_version": 1, "to_version": 2}
        for e in done["events"]
    )
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["v2"]
    description = await client.get_workflow_handle(enrollment["workflow_id"]).describe()
    assert description.typed_search_attributes.get(search_attributes.SEQUENCE_VERSION) == 2

    # Without a migration, an enrollment finishes on the version it started with.
    other = await new_contact(admin, email="b@example.com")
    second = await enroll(admin, sequence_id, other)
    await _republish(
        admin, sequence_id, _definition(WAIT, {"id": "newest", "kind": "apply_tag", "tag": "v3"})
    )
    assert (await enrollment_status(admin, second["id"], "completed"))["version"] == 2
    assert (await get_json(admin, f"/contacts/{other}"))["tags"] == ["v2"]


async def test_migration_refuses_when_a_position_is_gone(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await _sequence(
        admin, _definition(HOLD, {"id": "after", "kind": "apply_tag", "tag": "x"})
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda tasks: len(tasks) == 1
    )
    await _republish(
        admin, sequence_id, _definition({"id": "after", "kind": "apply_tag", "tag": "x"})
    )

    refused = await admin.post(f"/sequences/{sequence_id}/migrate")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "1 enrollment(s) stand on steps that version 2 no longer has; nothing was migrated"
    )
    assert refused.json()["blocked"] == [
        {"enrollment_id": enrollment["id"], "positions": ["main/hold"]}
    ]
    assert (await get_json(admin, f"/enrollments/{enrollment['id']}"))["version"] == 1


async def test_archived_sequences_take_no_new_enrollments_but_finish_running_ones(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await _sequence(admin, _definition(WAIT))
    running = await enroll(admin, sequence_id, await new_contact(admin))

    archived = await admin.post(f"/sequences/{sequence_id}/archive")
    assert archived.json()["status"] == "archived"
    late = await new_contact(admin, email="late@example.com")
    refused = await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": late})
    assert refused.status_code == 409
    assert (
        refused.json()["detail"]
        == f"sequence {sequence_id} is archived; publish it again to enroll contacts"
    )
    assert (await enrollment_status(admin, running["id"], "completed"))["version"] == 1
