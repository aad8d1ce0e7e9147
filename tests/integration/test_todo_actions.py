"""A to-do put off, given a new time, handed to a colleague or skipped, through the API: the
skip steers the enrollment past the step through its workflow; the others change the to-do."""

from datetime import UTC, datetime, timedelta

import httpx
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from store.users import user_for_key
from tests.integration.conftest import make_user_key
from tests.integration.helpers import enroll, eventually, get_json, new_contact, published_sequence

CALL_THEN_TASK = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "call", "kind": "call", "title": "Intro call"},
                {"id": "proposal", "kind": "task", "title": "Send the proposal"},
            ],
        }
    ]
}


async def test_snooze_reschedule_reassign_and_skip(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_key = await make_user_key(sessionmaker, Role.rep)
    colleague_key = await make_user_key(sessionmaker, Role.rep)
    async with sessionmaker() as session:
        rep = await user_for_key(session, rep_key)
        colleague = await user_for_key(session, colleague_key)
    assert rep and colleague
    as_rep = {"Authorization": f"Bearer {rep_key}"}
    sequence_id = await published_sequence(admin, CALL_THEN_TASK)
    contact_id = await new_contact(admin, owner_id=str(rep.id))
    enrollment = await enroll(admin, sequence_id, contact_id)

    async def reps_todo() -> list[dict[str, object]]:
        return list((await get_json(admin, "/todo", headers=as_rep))["items"])

    [call] = await eventually(reps_todo, lambda items: len(items) == 1)
    task = f"/tasks/{call['id']}"

    later = datetime.now(UTC) + timedelta(days=2)
    snoozed = await admin.post(f"{task}/snooze", json={"until": later.isoformat()}, headers=as_rep)
    assert snoozed.status_code == 200, snoozed.text
    assert datetime.fromisoformat(snoozed.json()["due_at"]) == later
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await get_json(admin, f"/todo?due_before={tomorrow}", headers=as_rep))["items"] == []
    past = await admin.post(
        f"{task}/snooze", json={"until": "2020-01-01T00:00:00Z"}, headers=as_rep
    )
    assert past.status_code == 422 and "has passed" in past.json()["detail"]

    sooner = datetime.now(UTC) - timedelta(hours=1)
    rescheduled = await admin.post(
        f"{task}/reschedule", json={"due_at": sooner.isoformat()}, headers=as_rep
    )
    assert datetime.fromisoformat(rescheduled.json()["due_at"]) == sooner

    # Reps cannot hand their to-dos on; managers and admins can, to a person.
    refused = await admin.post(
        f"{task}/reassign", json={"user_id": str(colleague.id)}, headers=as_rep
    )
    assert refused.status_code == 403
    nobody = await admin.post(f"{task}/reassign", json={"user_id": str(enrollment["id"])})
    assert nobody.status_code == 422 and "no person" in nobody.json()["detail"]
    handed = await admin.post(f"{task}/reassign", json={"user_id": str(colleague.id)})
    assert handed.json()["assigned_to"] == str(colleague.id)
    assert await reps_todo() == []
    assert (await admin.get(task, headers=as_rep)).status_code == 403

    as_colleague = {"Authorization": f"Bearer {colleague_key}"}
    skipped = await admin.post(f"{task}/skip", json={"notes": "Not needed"}, headers=as_colleague)
    assert skipped.status_code == 200, skipped.text
    assert (skipped.json()["status"], skipped.json()["result"]) == ("skipped", None)
    assert skipped.json()["notes"] == "Not needed"
    again = await admin.post(f"{task}/skip", json={}, headers=as_colleague)
    assert again.status_code == 409

    # The sequence went on to its next step; the call counts no result in the report.
    [proposal] = await eventually(reps_todo, lambda items: len(items) == 1)
    assert proposal["title"] == "Send the proposal"
    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert report["steps"]["call"]["task_results"] == {}
    assert report["steps"]["call"]["completed"] == 1
