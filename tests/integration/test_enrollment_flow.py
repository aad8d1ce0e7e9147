"""A delay → email → tag sequence run end to end on the real server and database."""

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tests.integration.helpers import (
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)
from workflows import search_attributes
from workflows.enrollment import EnrollmentWorkflow


async def test_contact_receives_email_and_tag(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin)

    enrolled = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert enrolled.status_code == 201, enrolled.text
    enrollment = enrolled.json()

    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["current_step"] is None
    assert [e["kind"] for e in done["events"]] == [
        "enrolled", "step_completed", "step_completed", "step_completed", "completed",
    ]  # fmt: skip

    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert [(m["to_address"], m["subject"]) for m in messages] == [
        ("ada@example.com", "Welcome, Ada")
    ]
    assert messages[0]["body"] == "Hi Ada Lovelace, glad you are here."
    contact = await get_json(admin, f"/contacts/{contact_id}")
    assert contact["tags"] == ["welcomed"]

    handle = client.get_workflow_handle(enrollment["workflow_id"])
    description = await handle.describe()
    attributes = description.typed_search_attributes
    ours = {key.name for key in search_attributes.ALL}
    assert {p.key.name: p.value for p in attributes if p.key.name in ours} == {
        "ContactId": contact_id,
        "SequenceId": sequence_id,
        "SequenceVersion": 1,
        "EnrollmentStatus": "completed",
        "EnrollmentId": enrollment["id"],
    }
    memo = await description.memo()
    assert memo == {"contact": "Ada Lovelace", "sequence": "Welcome"}


async def test_search_attributes_show_the_current_step_while_it_waits(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1H"))
    contact_id = await new_contact(admin)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()

    query = f"ContactId = '{contact_id}' AND CurrentStep = 'wait' AND EnrollmentStatus = 'active'"

    async def matching() -> list[str]:
        return [w.id async for w in client.list_workflows(query)]

    found = await eventually(matching, lambda ids: len(ids) == 1)
    assert found == [enrollment["workflow_id"]]
    state = await client.get_workflow_handle_for(
        EnrollmentWorkflow.run, enrollment["workflow_id"]
    ).query(EnrollmentWorkflow.state)
    assert state.tracks["main"].step_id == "wait"
    assert state.tracks["main"].wake_at is not None
