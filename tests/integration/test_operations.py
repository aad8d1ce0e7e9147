"""The reps' to-do list, stopping with a disposition for open to-dos, and removing enrollments."""

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Enrollment, EnrollmentEvent, Message, Task
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)


def _track(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}]}


CALL = {"id": "call", "kind": "call", "title": "Call {{ contact.first_name }}", "due_in": "PT2H"}


async def test_todo_lists_the_callers_open_items_with_their_context(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(
        admin, _track(CALL, {"id": "t", "kind": "task", "title": "Follow up"})
    )
    contact_id = await new_contact(admin)
    await enroll(admin, sequence_id, contact_id)

    page = await eventually(lambda: get_json(admin, "/todo"), lambda p: len(p["items"]) == 1)
    [item] = page["items"]
    assert (item["kind"], item["title"], item["step_id"]) == ("call", "Call Ada", "call")
    assert item["contact"] == {
        "id": contact_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": None,
    }
    assert item["sequence"]["id"] == sequence_id
    assert item["allowed_results"] == [
        "no_answer",
        "left_voicemail",
        "interested",
        "not_interested",
    ]

    assert (await get_json(admin, "/todo?kind=task"))["items"] == []
    assert (await get_json(admin, "/todo?due_before=2000-01-01T00:00:00Z"))["items"] == []
    await admin.post(f"/tasks/{item['id']}/outcome", json={"result": "no_answer"})
    follow_up = await eventually(
        lambda: get_json(admin, "/todo"), lambda p: [i["kind"] for i in p["items"]] == ["task"]
    )
    assert follow_up["items"][0]["title"] == "Follow up"


async def test_stopping_can_cancel_open_to_dos_and_reactivation_carries_on(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(
        admin, _track(CALL, {"id": "after", "kind": "apply_tag", "tag": "after"})
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    [task] = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda t: len(t) == 1
    )

    stopped = await admin.post(
        f"/enrollments/{enrollment['id']}/stop", json={"open_tasks": "cancel"}
    )
    assert stopped.status_code == 202
    await enrollment_status(admin, enrollment["id"], "stopped")
    assert (await get_json(admin, f"/tasks/{task['id']}"))["status"] == "cancelled"
    assert (await get_json(admin, "/todo"))["items"] == []
    late = await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "interested"})
    assert (late.status_code, late.json()["detail"]) == (
        409,
        f"task {task['id']} is already cancelled",
    )

    await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "neutral"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["after"]


async def test_stopping_can_leave_to_dos_open_or_complete_them(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(admin, _track({"id": "t", "kind": "task", "title": "T"}))
    for disposition, status, result in (
        ("leave_open", "open", None),
        ("complete_as_none", "completed", "none"),
    ):
        contact_id = await new_contact(admin, email=f"{disposition}@example.com")
        enrollment = await enroll(admin, sequence_id, contact_id)
        tasks_path = f"/contacts/{contact_id}/tasks"
        [task] = await eventually(lambda: get_json(admin, tasks_path), lambda t: len(t) == 1)  # noqa: B023
        await admin.post(f"/enrollments/{enrollment['id']}/stop", json={"open_tasks": disposition})
        await enrollment_status(admin, enrollment["id"], "stopped")
        after = await get_json(admin, f"/tasks/{task['id']}")
        assert (after["status"], after["result"]) == (status, result)


async def test_removing_an_enrollment_leaves_nothing_behind(
    admin: httpx.AsyncClient, worker: Worker, client: Client, sessionmaker: SessionMaker
) -> None:
    definition = _track({"id": "hi", "kind": "email", "subject": "Hi", "body": "b"}, CALL)
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda t: len(t) == 1
    )

    removed = await admin.delete(f"/enrollments/{enrollment['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["workflow_runs_deleted"] >= 1

    assert (await admin.get(f"/enrollments/{enrollment['id']}")).status_code == 404
    assert await get_json(admin, f"/contacts/{contact_id}/enrollments") == []
    assert await get_json(admin, f"/contacts/{contact_id}/messages") == []
    assert await get_json(admin, f"/contacts/{contact_id}/tasks") == []
    enrollment_id = uuid.UUID(enrollment["id"])
    async with sessionmaker() as session:
        for table, column in (
            (Enrollment, Enrollment.id),
            (EnrollmentEvent, EnrollmentEvent.enrollment_id),
            (Message, Message.enrollment_id),
            (Task, Task.enrollment_id),
        ):
            count = await session.scalar(
                select(func.count()).select_from(table).where(col(column) == enrollment_id)
            )
            assert count == 0, table.__name__

    async def gone() -> bool:
        try:
            await client.get_workflow_handle(enrollment["workflow_id"]).describe()
        except RPCError:
            return True
        return False

    assert await eventually(gone, lambda is_gone: is_gone)
    again = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert again.status_code == 201, "the contact can be enrolled afresh"


async def _listed(client: Client, enrollment_id: str) -> list[str]:
    query = f"EnrollmentId = '{enrollment_id}'"
    return [run.run_id async for run in client.list_workflows(query)]


async def test_a_removed_enrollments_runs_are_gone_from_visibility_too(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    """The case visibility keeps longest: a run that had completed before its removal."""
    definition = _track({"id": "hi", "kind": "email", "subject": "Hi", "body": "b"})
    enrollment = await enroll(
        admin, await published_sequence(admin, definition), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    await eventually(lambda: _listed(client, enrollment["id"]), lambda runs: len(runs) == 1)

    removed = await admin.delete(f"/enrollments/{enrollment['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["workflow_runs_deleted"] == 1
    assert (await admin.get(f"/enrollments/{enrollment['id']}")).status_code == 404

    removal = client.get_workflow_handle(f"removal:{enrollment['id']}", result_type=int)
    assert await removal.result() == 1
    assert await _listed(client, enrollment["id"]) == []
