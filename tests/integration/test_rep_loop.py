"""The whole rep loop over HTTP with a running worker, and the report that counts it."""

from datetime import UTC, datetime, timedelta

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
)


async def test_rep_works_the_calls_and_the_report_counts_them(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_key = await make_user_key(sessionmaker, Role.rep)
    async with sessionmaker() as session:
        rep = await user_for_key(session, rep_key)
    assert rep is not None
    as_rep = {"Authorization": f"Bearer {rep_key}"}
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "intro", "kind": "email", "subject": "Hello", "body": "b"},
                    {"id": "call", "kind": "call", "title": "Intro call"},
                    {"id": "proposal", "kind": "task", "title": "Send the proposal"},
                ],
            }
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin, owner_id=str(rep.id))
    enrollment = await enroll(admin, sequence_id, contact_id)

    async def reps_todo() -> list[dict[str, object]]:
        response = await admin.get("/todo", headers=as_rep)
        assert response.status_code == 200
        items: list[dict[str, object]] = response.json()["items"]
        return items

    [call] = await eventually(reps_todo, lambda items: len(items) == 1)
    assert call["kind"] == "call"
    assert (await admin.get("/todo")).json()["items"] == [], "the admin's own list is empty"
    answer = await admin.post(
        f"/tasks/{call['id']}/outcome", json={"result": "no_answer"}, headers=as_rep
    )
    assert answer.status_code == 200, answer.text

    [task] = await eventually(
        reps_todo, lambda items: len(items) == 1 and items[0]["kind"] == "task"
    )
    await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "positive"}, headers=as_rep)
    assert (await enrollment_status(admin, enrollment["id"], "completed"))["outcome"] == "positive"

    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert (report["enrolled"], report["completed"], report["active"]) == (1, 1, 0)
    assert report["outcomes"] == {"positive": 1, "negative": 0, "neutral": 0}
    assert report["steps"]["intro"].pop("engagement")["sent"] == 1
    assert report["steps"]["intro"] == {
        "reached": 1,
        "waiting": 0,
        "completed": 1,
        "messages": {"email": 1},
        "queued": {},
        "task_results": {},
    }
    assert report["steps"]["call"]["task_results"] == {"no_answer": 1}
    assert report["steps"]["proposal"]["task_results"] == {"positive": 1}
    assert (await get_json(admin, f"/sequences/{sequence_id}/report?version=2"))["enrolled"] == 0
    future = await get_json(admin, f"/sequences/{sequence_id}/report?since=2999-01-01")
    assert future["enrolled"] == 0
    # Days around today's in UTC, however near midnight the test ran.
    today = datetime.now(UTC).date()
    days = f"since={today - timedelta(days=1)}&until={today + timedelta(days=1)}"
    whole = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert await get_json(admin, f"/sequences/{sequence_id}/report?{days}") == whole
    for scope, fix in (
        ("since=2026-01-01T10:00:00Z", "since"),
        (f"since={today}&until={today - timedelta(days=1)}", "comes before since"),
    ):
        refused = await admin.get(f"/sequences/{sequence_id}/report?{scope}")
        assert refused.status_code == 422 and fix in refused.text, refused.text


async def test_report_counts_where_running_enrollments_wait_on_each_track(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = {
        "tracks": [
            {"id": "mail", "steps": [{"id": "pause", "kind": "delay", "duration": "PT1H"}]},
            {"id": "calls", "steps": [{"id": "hold", "kind": "delay", "duration": "PT2H"}]},
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    first = await enroll(admin, sequence_id, await new_contact(admin))
    second = await enroll(admin, sequence_id, await new_contact(admin))
    for enrollment in (first, second):
        await enrollment_at(admin, enrollment["id"], "pause,hold")
    stopped = await admin.post(f"/enrollments/{second['id']}/stop", json={})
    assert stopped.status_code == 202, stopped.text
    await enrollment_status(admin, second["id"], "stopped")

    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert (report["enrolled"], report["active"], report["stopped"]) == (2, 1, 1)
    assert report["outcomes"] == {"positive": 0, "negative": 0, "neutral": 0}
    for step_id in ("pause", "hold"):
        assert report["steps"][step_id] == {
            "reached": 2,
            "waiting": 1,
            "completed": 0,
            "messages": {},
            "queued": {},
            "task_results": {},
            "engagement": None,
        }


async def enrollment_at(admin: httpx.AsyncClient, enrollment_id: str, steps: str) -> None:
    async def current() -> str | None:
        found: str | None = (await get_json(admin, f"/enrollments/{enrollment_id}"))["current_step"]
        return found

    await eventually(current, lambda found: found == steps)
