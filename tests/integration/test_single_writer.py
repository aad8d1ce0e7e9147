"""Routes that both change records and steer a workflow leave one writer: the workflow records
a to-do's result and a stop's closing of to-dos itself, so the two never disagree."""

import asyncio
import uuid

import httpx
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from store.users import user_for_key
from tests.integration.conftest import make_user_key
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)


async def _rep(sessionmaker: SessionMaker) -> tuple[uuid.UUID, dict[str, str]]:
    key = await make_user_key(sessionmaker, Role.rep)
    async with sessionmaker() as session:
        user = await user_for_key(session, key)
    assert user is not None
    return user.id, {"Authorization": f"Bearer {key}"}


def _call(step_id: str, user_id: uuid.UUID | None = None) -> dict[str, object]:
    assign = {"who": "user", "user_id": str(user_id)} if user_id else {"who": "contact_owner"}
    return {"id": step_id, "kind": "call", "title": f"Call {step_id}", "assign_to": assign}


async def _open_tasks(admin: httpx.AsyncClient, contact_id: str, count: int) -> list[dict]:  # type: ignore[type-arg]
    async def listed() -> list[dict]:  # type: ignore[type-arg]
        tasks: list[dict] = await get_json(admin, f"/contacts/{contact_id}/tasks")  # type: ignore[type-arg]
        return [task for task in tasks if task["status"] == "open"]

    return await eventually(listed, lambda tasks: len(tasks) == count)


async def test_two_results_for_one_todo_at_once_record_one_and_steer_once(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_id, as_rep = await _rep(sessionmaker)
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    _call("first"),
                    {"id": "then", "kind": "task", "title": "Follow up"},
                ],
            }
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin, owner_id=str(rep_id))
    await enroll(admin, sequence_id, contact_id)
    [call] = await _open_tasks(admin, contact_id, 1)

    answers = await asyncio.gather(
        *(
            admin.post(f"/tasks/{call['id']}/outcome", json={"result": result}, headers=as_rep)
            for result in ("no_answer", "left_voicemail")
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 409], [answer.text for answer in answers]
    [taken] = [answer.json() for answer in answers if answer.status_code == 200]
    assert taken["status"] == "completed"
    stored = await get_json(admin, f"/tasks/{call['id']}")
    assert (stored["result"], stored["completed_by"]) == (taken["result"], str(rep_id))

    [follow_up] = await _open_tasks(admin, contact_id, 1)
    assert follow_up["step_id"] == "then"
    await asyncio.sleep(1)
    all_tasks = await get_json(admin, f"/contacts/{contact_id}/tasks")
    assert [task["step_id"] for task in all_tasks] == ["first", "then"], "steered once"


async def test_a_result_for_a_todo_whose_enrollment_ended_is_recorded_on_the_todo(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_id, as_rep = await _rep(sessionmaker)
    definition = {
        "settings": {"exit_rules": [{"event": "tag_applied", "name": "customer"}]},
        "tracks": [{"id": "main", "steps": [_call("first")]}],
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin, owner_id=str(rep_id))
    enrollment = await enroll(admin, sequence_id, contact_id)
    [call] = await _open_tasks(admin, contact_id, 1)
    tagged = await admin.post(f"/contacts/{contact_id}/tags", json={"tag": "customer"})
    assert tagged.status_code in (200, 201), tagged.text
    await enrollment_status(admin, enrollment["id"], "completed")

    answer = await admin.post(
        f"/tasks/{call['id']}/outcome", json={"result": "interested"}, headers=as_rep
    )
    assert answer.status_code == 200, answer.text
    stored = await get_json(admin, f"/tasks/{call['id']}")
    assert (stored["status"], stored["result"]) == ("completed", "interested")
    again = await admin.post(
        f"/tasks/{call['id']}/outcome", json={"result": "no_answer"}, headers=as_rep
    )
    assert again.status_code == 409, again.text


async def test_a_second_stop_sent_at_once_is_a_conflict(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1H"))
    enrollment = await enroll(admin, sequence_id, await new_contact(admin))
    first = await admin.post(f"/enrollments/{enrollment['id']}/stop", json={})
    second = await admin.post(f"/enrollments/{enrollment['id']}/stop", json={})
    assert first.status_code == 202, first.text
    assert second.status_code == 409, second.text
    assert "only a running enrollment can be stopped" in second.json()["detail"]


async def test_a_reps_stop_closes_only_the_reps_own_todos(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_id, as_rep = await _rep(sessionmaker)
    other_id, _ = await _rep(sessionmaker)
    definition = {
        "tracks": [
            {"id": "mine", "steps": [_call("mine", rep_id)]},
            {"id": "theirs", "steps": [_call("theirs", other_id)]},
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    shared = await admin.post(f"/sequences/{sequence_id}/shares", json={"user_id": str(rep_id)})
    assert shared.status_code == 201, shared.text
    contact_id = await new_contact(admin, owner_id=str(rep_id))
    enrolled = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}, headers=as_rep
    )
    assert enrolled.status_code == 201, enrolled.text
    await _open_tasks(admin, contact_id, 2)

    stop = await admin.post(
        f"/enrollments/{enrolled.json()['id']}/stop",
        json={"open_tasks": "complete_as_none"},
        headers=as_rep,
    )
    assert stop.status_code == 202, stop.text
    await enrollment_status(admin, enrolled.json()["id"], "stopped")

    def by_step(tasks: list[dict]) -> dict[str, tuple[str, str | None]]:  # type: ignore[type-arg]
        return {task["step_id"]: (task["status"], task["result"]) for task in tasks}

    tasks = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"),
        lambda tasks: by_step(tasks)["mine"][0] == "completed",
    )
    assert by_step(tasks) == {"mine": ("completed", "none"), "theirs": ("open", None)}
