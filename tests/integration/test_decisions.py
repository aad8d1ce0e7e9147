"""Calls and tasks for people, waits for contact events, conditions, exit rules and goals."""

from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import make_user_key
from tests.integration.helpers import (
    declare_field,
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)
from workflows.enrollment import EnrollmentWorkflow


def _one_track(*steps: dict[str, Any], **settings: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"tracks": [{"id": "main", "steps": list(steps)}]}
    if settings:
        definition["settings"] = settings
    return definition


def _tag(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "apply_tag", "tag": step_id, **extra}


async def _open_task(admin: httpx.AsyncClient, contact_id: str, count: int = 1) -> dict[str, Any]:
    found = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"),
        lambda tasks: len([t for t in tasks if t["status"] == "open"]) == 1 and len(tasks) == count,
    )
    task: dict[str, Any] = next(t for t in found if t["status"] == "open")
    return task


async def test_call_results_continue_or_end_the_sequence(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(
        {"id": "call", "kind": "call", "title": "Call {{ contact.first_name }}"},
        {"id": "follow-up", "kind": "task", "title": "Send the proposal"},
        _tag("never-reached"),
    )
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)

    call = await _open_task(admin, contact_id)
    assert (call["kind"], call["title"], call["step_id"]) == ("call", "Call Ada", "call")
    assert call["allowed_results"] == [
        "no_answer",
        "left_voicemail",
        "interested",
        "not_interested",
    ]

    wrong = await admin.post(f"/tasks/{call['id']}/outcome", json={"result": "positive"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "result: 'positive' is not a result of a call; "
        "use one of no_answer, left_voicemail, interested, not_interested"
    )
    done = await admin.post(
        f"/tasks/{call['id']}/outcome", json={"result": "no_answer", "notes": "rang out"}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["result"]) == ("completed", "no_answer")
    twice = await admin.post(f"/tasks/{call['id']}/outcome", json={"result": "interested"})
    assert twice.status_code == 409
    assert twice.json()["detail"] == f"task {call['id']} is already completed"

    task = await _open_task(admin, contact_id, count=2)
    assert task["allowed_results"] == ["none", "positive", "negative"]
    assert (
        await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "positive"})
    ).status_code == 200

    finished = await enrollment_status(admin, enrollment["id"], "completed")
    assert finished["outcome"] == "positive"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == []


async def test_a_rep_cannot_see_or_complete_another_reps_task(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    sequence_id = await published_sequence(
        admin, _one_track({"id": "t", "kind": "task", "title": "Do it"})
    )
    contact_id = await new_contact(admin)
    await enroll(admin, sequence_id, contact_id)
    task = await _open_task(admin, contact_id)

    rep_key = await make_user_key(sessionmaker, Role.rep)
    response = await admin.post(
        f"/tasks/{task['id']}/outcome",
        json={"result": "none"},
        headers={"Authorization": f"Bearer {rep_key}"},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == f"task {task['id']} is assigned to someone else"
    seeing = await admin.get(f"/tasks/{task['id']}", headers={"Authorization": f"Bearer {rep_key}"})
    assert seeing.status_code == 403
    todo = await admin.get("/todo", headers={"Authorization": f"Bearer {rep_key}"})
    assert todo.json()["items"] == []
    everyone = await admin.get(
        "/todo?everyone=true", headers={"Authorization": f"Bearer {rep_key}"}
    )
    assert everyone.status_code == 403


async def test_an_outcome_for_a_stopped_enrollment_applies_on_reactivation(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track({"id": "t", "kind": "task", "title": "Check in"}, _tag("after"))
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    task = await _open_task(admin, contact_id)

    await admin.post(f"/enrollments/{enrollment['id']}/stop")
    await enrollment_status(admin, enrollment["id"], "stopped")
    assert (
        await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "none"})
    ).status_code == 200
    stopped = await get_json(admin, f"/enrollments/{enrollment['id']}")
    assert stopped["status"] == "stopped"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == []

    await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    await enrollment_status(admin, enrollment["id"], "completed")
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["after"]


async def test_wait_for_event_branches_on_whether_it_happened_in_time(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(
        {
            "id": "visited",
            "kind": "wait_for_event",
            "match": {"event": "page_visited", "name": "/pricing"},
            "within": "PT3S",
            "if_happened": {"go_to": "hot"},
            "if_not": {"go_to": "cold"},
        },
        _tag("hot", then={"end": "positive"}),
        _tag("cold", then={"end": "negative"}),
    )
    sequence_id = await published_sequence(admin, definition)
    visitor, stranger = await new_contact(admin), await new_contact(admin, email="b@example.com")
    visiting = await enroll(admin, sequence_id, visitor)
    idle = await enroll(admin, sequence_id, stranger)

    other_page = await admin.post(
        "/events", json={"contact_id": visitor, "event": "page_visited", "name": "/blog"}
    )
    assert other_page.json()["enrollments_told"] == 1
    await admin.post(
        "/events", json={"contact_id": visitor, "event": "page_visited", "name": "/pricing"}
    )

    assert (await enrollment_status(admin, visiting["id"], "completed"))["outcome"] == "positive"
    assert (await enrollment_status(admin, idle["id"], "completed"))["outcome"] == "negative"
    assert (await get_json(admin, f"/contacts/{visitor}"))["tags"] == ["hot"]
    assert (await get_json(admin, f"/contacts/{stranger}"))["tags"] == ["cold"]


async def test_condition_branches_on_tags_and_fields(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(
        {
            "id": "is-vip",
            "kind": "condition",
            "check": {"has_tag": "vip"},
            "if_false": {"go_to": "is-big"},
        },
        _tag("vip-path", then={"end": "positive"}),
        {
            "id": "is-big",
            "kind": "condition",
            "check": {"field": "seats", "op": "greater_than", "value": 50},
            "if_false": {"end": "negative"},
        },
        _tag("big-path"),
    )
    await declare_field(admin, "seats", "number")
    sequence_id = await published_sequence(admin, definition)
    vip = await new_contact(admin, email="vip@example.com")
    await admin.post(f"/contacts/{vip}/tags", json={"tag": "vip"})
    big = await new_contact(admin, email="big@example.com", fields={"seats": 120})
    small = await new_contact(admin, email="small@example.com", fields={"seats": 3})

    outcomes = {}
    for contact_id in (vip, big, small):
        enrollment = await enroll(admin, sequence_id, contact_id)
        outcomes[contact_id] = (await enrollment_status(admin, enrollment["id"], "completed"))[
            "outcome"
        ]
    assert outcomes == {vip: "positive", big: "neutral", small: "negative"}
    assert (await get_json(admin, f"/contacts/{big}"))["tags"] == ["big-path"]


async def test_exit_rule_ends_the_enrollment_when_the_contact_replies(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(
        {"id": "wait", "kind": "delay", "duration": "PT1H"},
        _tag("too-late"),
        exit_rules=[
            {"event": "replied", "outcome": "positive"},
            {"event": "tag_applied", "name": "customer"},
        ],
    )
    sequence_id = await published_sequence(admin, definition)
    replier, buyer = await new_contact(admin), await new_contact(admin, email="c@example.com")
    replying = await enroll(admin, sequence_id, replier)
    buying = await enroll(admin, sequence_id, buyer)

    await admin.post("/events", json={"contact_id": replier, "event": "replied"})
    ended = await enrollment_status(admin, replying["id"], "completed")
    assert ended["outcome"] == "positive"
    assert [e["kind"] for e in ended["events"]][-2:] == ["exited", "completed"]

    await admin.post(f"/contacts/{buyer}/tags", json={"tag": "customer"})
    assert (await enrollment_status(admin, buying["id"], "completed"))["outcome"] == "neutral"
    assert (await get_json(admin, f"/contacts/{buyer}"))["tags"] == ["customer"]


async def test_a_goal_enrolls_the_contact_when_the_event_happens(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(_tag("welcomed"), goals=[{"event": "form_submitted", "name": "demo"}])
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)

    other_form = await admin.post(
        "/events", json={"contact_id": contact_id, "event": "form_submitted", "name": "newsletter"}
    )
    assert other_form.status_code == 202
    assert other_form.json()["enrolled"] == []

    demo = await admin.post(
        "/events", json={"contact_id": contact_id, "event": "form_submitted", "name": "demo"}
    )
    [enrollment_id] = demo.json()["enrolled"]
    done = await enrollment_status(admin, enrollment_id, "completed")
    assert done["sequence_id"] == sequence_id
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["welcomed"]


async def test_bad_events_get_clear_errors(admin: httpx.AsyncClient) -> None:
    contact_id = await new_contact(admin)
    unnamed = await admin.post("/events", json={"contact_id": contact_id, "event": "custom"})
    assert unnamed.status_code == 422
    assert "a custom event needs a name" in unnamed.text
    unknown = await admin.post("/events", json={"contact_id": contact_id, "event": "teleported"})
    assert unknown.status_code == 422
    missing = await admin.post(
        "/events", json={"contact_id": "00000000-0000-0000-0000-000000000000", "event": "replied"}
    )
    assert missing.status_code == 404


async def test_a_tag_applied_by_a_sequence_reaches_exit_rules_and_goals(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    nurture = await published_sequence(
        admin,
        _one_track(
            {"id": "wait", "kind": "delay", "duration": "PT1H"},
            exit_rules=[{"event": "tag_applied", "name": "customer", "outcome": "positive"}],
        ),
    )
    onboarding = await published_sequence(
        admin, _one_track(_tag("onboarded"), goals=[{"event": "tag_applied", "name": "customer"}])
    )
    purchase = await published_sequence(
        admin, _one_track({"id": "bought", "kind": "apply_tag", "tag": "customer"})
    )
    contact_id = await new_contact(admin)
    nurturing = await enroll(admin, nurture, contact_id)
    await enrollment_status(admin, nurturing["id"], "active")

    await enroll(admin, purchase, contact_id)

    assert (await enrollment_status(admin, nurturing["id"], "completed"))["outcome"] == "positive"
    enrolled = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/enrollments"),
        lambda found: any(
            e["sequence_id"] == onboarding and e["status"] == "completed" for e in found
        ),
    )
    assert {e["sequence_id"] for e in enrolled} == {nurture, onboarding, purchase}
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["customer", "onboarded"]


async def test_a_manual_email_is_a_task_whose_result_steers(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    definition = _one_track(
        {"id": "write", "kind": "manual_email", "title": "Write to {{ contact.first_name }}"}
    )
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    task = await _open_task(admin, contact_id)
    assert (task["kind"], task["title"]) == ("manual_email", "Write to Ada")
    await admin.post(f"/tasks/{task['id']}/outcome", json={"result": "negative"})
    assert (await enrollment_status(admin, enrollment["id"], "completed"))["outcome"] == "negative"


async def test_a_wait_for_an_open_of_one_step_hears_only_that_message(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    """Opening another email, even this sequence's own in another enrollment, or another
    sequence's, does not satisfy a wait for the open of the email this step sent."""
    hello = {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"}
    opened = {
        "id": "opened",
        "kind": "wait_for_event",
        "match": {"event": "email_opened", "step": "hello"},
        "within": "PT1H",
        "if_happened": {"end": "positive"},
    }
    waiting = await published_sequence(
        admin, {"tracks": [{"id": "main", "steps": [hello, opened]}]}
    )
    other = await published_sequence(
        admin, {"tracks": [{"id": "main", "steps": [{**hello, "id": "promo"}]}]}
    )
    contact_id = await new_contact(admin)
    await enroll(admin, other, contact_id)
    enrollment = await enroll(admin, waiting, contact_id)
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda body: body["current_step"] == "opened",
    )
    sent = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/messages"), lambda m: len(m) == 2
    )
    ours = next(m["id"] for m in sent if m["enrollment_id"] == enrollment["id"])
    theirs = next(m["id"] for m in sent if m["enrollment_id"] != enrollment["id"])

    async def open_message(message_id: str | None) -> None:
        event = {"contact_id": contact_id, "event": "email_opened"}
        data = {"data": {"message_id": message_id}} if message_id else {}
        answer = await admin.post("/events", json={**event, **data})
        assert answer.status_code == 202, answer.text
        assert answer.json()["enrollments_told"] == 1

    await open_message(theirs)
    await open_message(None)
    # Once the run has taken both opens in, it still waits: neither was the message it sent.
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, enrollment["workflow_id"])
    state = await eventually(
        lambda: handle.query(EnrollmentWorkflow.state),
        lambda state: [e.event for e in state.events] == ["email_opened", "email_opened"],
    )
    assert state.tracks["main"].step_id == "opened"
    assert [e.step_id for e in state.events] == [None, None]

    await open_message(ours)
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "positive"


async def test_a_wait_for_a_click_can_ask_for_a_link_in_one_email(
    admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    offer = {"id": "offer", "kind": "email", "subject": "Offer", "body": "b"}
    clicked = {
        "id": "clicked",
        "kind": "wait_for_event",
        "match": {"event": "link_clicked", "step": "offer", "url_contains": "/pricing"},
        "within": "PT1H",
        "if_happened": {"end": "positive"},
    }
    sequence_id = await published_sequence(
        admin, {"tracks": [{"id": "main", "steps": [offer, clicked]}]}
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    [message] = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/messages"), lambda m: len(m) == 1
    )

    async def click(url: str) -> None:
        data = {"message_id": message["id"], "url": url}
        event = {"contact_id": contact_id, "event": "link_clicked", "data": data}
        answer = await admin.post("/events", json=event)
        assert answer.status_code == 202, answer.text

    await click("https://acme.example/blog")
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, enrollment["workflow_id"])
    state = await eventually(
        lambda: handle.query(EnrollmentWorkflow.state), lambda state: len(state.events) == 1
    )
    assert (state.events[0].step_id, state.events[0].url) == ("offer", "https://acme.example/blog")
    assert state.tracks["main"].step_id == "clicked"

    await click("https://acme.example/pricing?plan=team")
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "positive"
