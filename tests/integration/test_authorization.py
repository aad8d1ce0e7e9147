"""Who may call what: every route, for every role, plus the rules that depend on the record."""

import uuid

import httpx
import pytest
from temporalio.worker import Worker

from api.main import create_app
from store import users
from store.db import SessionMaker
from store.models import Role
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

ALL = frozenset(Role)
DESIGN = frozenset({Role.admin, Role.manager})
OPERATORS = frozenset({Role.admin, Role.manager, Role.integration})
ADMIN = frozenset({Role.admin})

# Every route and the roles allowed through it; a route missing here fails the test below.
ALLOWED: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/metrics"): OPERATORS,
    ("POST", "/contacts"): ALL,
    ("GET", "/contacts"): ALL,
    ("GET", "/contacts/{contact_id}"): ALL,
    ("PATCH", "/contacts/{contact_id}"): ALL,
    ("GET", "/contacts/{contact_id}/enrollments"): ALL,
    ("GET", "/contacts/{contact_id}/messages"): ALL,
    ("GET", "/contacts/{contact_id}/notes"): ALL,
    ("GET", "/contacts/{contact_id}/events"): ALL,
    ("GET", "/contacts/{contact_id}/tasks"): ALL,
    ("POST", "/contacts/{contact_id}/tags"): ALL,
    ("DELETE", "/contacts/{contact_id}/tags/{tag}"): ALL,
    ("POST", "/custom-fields"): DESIGN,
    ("GET", "/custom-fields"): ALL,
    ("POST", "/sequences"): DESIGN,
    ("GET", "/sequences"): ALL,
    ("GET", "/sequences/{sequence_id}"): ALL,
    ("PUT", "/sequences/{sequence_id}"): DESIGN,
    ("POST", "/sequences/{sequence_id}/publish"): DESIGN,
    ("GET", "/sequences/{sequence_id}/versions/{version}"): ALL,
    ("POST", "/sequences/{sequence_id}/migrate"): DESIGN,
    ("POST", "/sequences/{sequence_id}/archive"): DESIGN,
    ("GET", "/sequences/{sequence_id}/report"): DESIGN,
    ("POST", "/sequences/{sequence_id}/shares"): DESIGN,
    ("GET", "/sequences/{sequence_id}/shares"): DESIGN,
    ("DELETE", "/sequences/{sequence_id}/shares/{user_id}"): DESIGN,
    ("POST", "/sequences/{sequence_id}/enrollments"): ALL,
    ("GET", "/sequences/{sequence_id}/enrollments"): ALL,
    ("GET", "/enrollments/{enrollment_id}"): ALL,
    ("POST", "/enrollments/{enrollment_id}/stop"): ALL,
    ("POST", "/enrollments/{enrollment_id}/reactivate"): ALL,
    ("POST", "/enrollments/{enrollment_id}/retry"): ALL,
    ("DELETE", "/enrollments/{enrollment_id}"): OPERATORS,
    ("POST", "/enrollments/stop"): ALL,
    ("POST", "/enrollments/reactivate"): ALL,
    ("POST", "/enrollments/retry"): ALL,
    ("POST", "/enrollments/remove"): OPERATORS,
    ("GET", "/todo"): ALL,
    ("GET", "/tasks/{task_id}"): ALL,
    ("POST", "/tasks/{task_id}/outcome"): ALL,
    ("POST", "/tasks/{task_id}/snooze"): ALL,
    ("POST", "/tasks/{task_id}/reschedule"): ALL,
    ("POST", "/tasks/{task_id}/reassign"): OPERATORS,
    ("POST", "/tasks/{task_id}/skip"): ALL,
    ("POST", "/events"): ALL,
    ("GET", "/fulfillment-lists"): OPERATORS,
    ("GET", "/fulfillment-lists/{list_id}/export"): OPERATORS,
    ("POST", "/fulfillment-lists/{list_id}/entries/{entry_id}/fulfill"): OPERATORS,
    ("POST", "/users"): ADMIN,
    ("GET", "/users"): ADMIN,
    ("PATCH", "/users/{user_id}"): ADMIN,
    ("POST", "/users/{user_id}/api-keys"): ADMIN,
    ("GET", "/users/{user_id}/api-keys"): ADMIN,
    ("DELETE", "/api-keys/{key_id}"): ADMIN,
}
# Open routes: their requests carry their own credential (a signed token, a signature).
OPEN = {
    ("GET", "/health"),
    ("GET", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/{token}"),
    ("GET", "/fax-documents/{token}.pdf"),
    ("POST", "/webhooks/email"),
    ("POST", "/webhooks/email/inbound"),
    ("GET", "/t/o/{token}.gif"),
    ("HEAD", "/t/o/{token}.gif"),
    ("GET", "/t/c/{token}"),
    ("HEAD", "/t/c/{token}"),
    ("GET", "/t/visit.js"),
    ("POST", "/t/visits"),
    ("POST", "/t/visits/{view}"),
    ("POST", "/webhooks/twilio/status"),
    ("POST", "/webhooks/twilio/inbound"),
}


def _routes() -> set[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return {(method.upper(), path) for path, methods in paths.items() for method in methods}


def test_every_route_is_in_the_table() -> None:
    assert _routes() - OPEN == set(ALLOWED)


def _concrete(path: str) -> str:
    """Fill path parameters with ids nothing has, so allowed calls end in 404 or 422, not 403."""
    for name in (
        "contact_id",
        "sequence_id",
        "enrollment_id",
        "task_id",
        "user_id",
        "key_id",
        "list_id",
        "entry_id",
    ):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    return path.replace("{version}", "1").replace("{tag}", "none")


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_gets_through_exactly_where_allowed(
    api: httpx.AsyncClient, sessionmaker: SessionMaker, role: Role
) -> None:
    key = await make_user_key(sessionmaker, role)
    headers = {"Authorization": f"Bearer {key}"}
    for (method, path), allowed in sorted(ALLOWED.items()):
        response = await api.request(method, _concrete(path), headers=headers, json={})
        if role in allowed:
            assert response.status_code not in (401, 403), (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.status_code)
            assert "needs one of the roles" in response.json()["detail"]


async def test_every_route_but_health_needs_a_key(api: httpx.AsyncClient) -> None:
    for method, path in sorted(ALLOWED):
        response = await api.request(method, _concrete(path), json={})
        assert response.status_code == 401, (method, path)
    assert (await api.get("/health")).status_code == 200


async def test_reps_enroll_only_into_shared_sequences_and_control_only_their_own(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_key = await make_user_key(sessionmaker, Role.rep)
    as_rep = {"Authorization": f"Bearer {rep_key}"}
    rep_id = (await admin.get("/users")).json()[-1]["id"]
    sequence_id = await published_sequence(admin, welcome_series("PT1H"))
    contact_id = await new_contact(admin)

    refused = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}, headers=as_rep
    )
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        f"sequence {sequence_id} is not shared with you",
    )
    shared = await admin.post(f"/sequences/{sequence_id}/shares", json={"user_id": rep_id})
    assert shared.status_code == 201, shared.text
    assert await get_json(admin, f"/sequences/{sequence_id}/shares") == [
        {"sequence_id": sequence_id, "user_id": rep_id}
    ]
    own = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}, headers=as_rep
    )
    assert own.status_code == 201, own.text

    others = await enroll(admin, sequence_id, await new_contact(admin, email="b@example.com"))
    await enrollment_status(admin, others["id"], "active")
    not_mine = await admin.post(f"/enrollments/{others['id']}/stop", headers=as_rep)
    assert (not_mine.status_code, not_mine.json()["detail"]) == (
        403,
        f"enrollment {others['id']} was started by someone else",
    )
    await enrollment_status(admin, own.json()["id"], "active")
    assert (
        await admin.post(f"/enrollments/{own.json()['id']}/stop", headers=as_rep)
    ).status_code == 202


async def _rep(sessionmaker: SessionMaker) -> tuple[str, dict[str, str]]:
    key = await make_user_key(sessionmaker, Role.rep)
    async with sessionmaker() as session:
        user = await users.user_for_key(session, key)
    assert user is not None
    return str(user.id), {"Authorization": f"Bearer {key}"}


async def test_a_contacts_todo_list_shows_a_rep_only_their_own_as_the_item_route_does(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    mine, as_me = await _rep(sessionmaker)
    theirs, as_them = await _rep(sessionmaker)
    call = {"kind": "call", "title": "Call"}
    definition = {
        "tracks": [
            {
                "id": "a",
                "steps": [{**call, "id": "a", "assign_to": {"who": "user", "user_id": mine}}],
            },
            {
                "id": "b",
                "steps": [{**call, "id": "b", "assign_to": {"who": "user", "user_id": theirs}}],
            },
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    await enroll(admin, sequence_id, contact_id)
    everything = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda tasks: len(tasks) == 2
    )
    for task in everything:
        allowed = (await admin.get(f"/tasks/{task['id']}", headers=as_me)).status_code == 200
        assert allowed == (task["assigned_to"] == mine)
    listed = (await admin.get(f"/contacts/{contact_id}/tasks", headers=as_me)).json()
    assert [task["assigned_to"] for task in listed] == [mine]
    listed = (await admin.get(f"/contacts/{contact_id}/tasks", headers=as_them)).json()
    assert [task["assigned_to"] for task in listed] == [theirs]


async def test_a_reps_event_enrolls_only_into_goal_sequences_shared_with_the_rep(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    rep_id, as_rep = await _rep(sessionmaker)
    goal = {"settings": {"goals": [{"event": "custom", "name": "demo_booked"}]}}
    private = await published_sequence(admin, {**welcome_series("PT1H"), **goal})
    shared = await published_sequence(admin, {**welcome_series("PT1H"), **goal})
    sharing = await admin.post(f"/sequences/{shared}/shares", json={"user_id": rep_id})
    assert sharing.status_code == 201, sharing.text
    contact_id = await new_contact(admin)
    event = {"contact_id": contact_id, "event": "custom", "name": "demo_booked"}
    recorded = await admin.post("/events", json=event, headers=as_rep)
    assert recorded.status_code == 202, recorded.text
    assert len(recorded.json()["enrolled"]) == 1
    enrollments = await get_json(admin, f"/contacts/{contact_id}/enrollments")
    listed = enrollments["items"] if isinstance(enrollments, dict) else enrollments
    assert [e["sequence_id"] for e in listed] == [shared], private


async def test_admins_manage_users_and_their_keys(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await admin.post(
        "/users", json={"email": "grace@example.com", "name": "Grace", "role": "manager"}
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    duplicate = await admin.post("/users", json={"email": "grace@example.com", "role": "rep"})
    assert (duplicate.status_code, duplicate.json()["detail"]) == (
        409,
        "a user with email grace@example.com already exists",
    )

    issued = await admin.post(f"/users/{user_id}/api-keys")
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith(issued.json()["prefix"])
    as_grace = {"Authorization": f"Bearer {key}"}
    assert (await api.get("/sequences", headers=as_grace)).status_code == 200
    listed = await get_json(admin, f"/users/{user_id}/api-keys")
    assert [k["id"] for k in listed] == [issued.json()["id"]]
    assert "key" not in listed[0]

    revoked = await admin.delete(f"/api-keys/{issued.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await api.get("/sequences", headers=as_grace)).status_code == 401
    again = await admin.delete(f"/api-keys/{issued.json()['id']}")
    assert again.status_code == 409
