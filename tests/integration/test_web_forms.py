"""Every form the web app takes refuses a request without its CSRF token, whoever sends it:
a page added without the check fails here."""

import uuid

import httpx
from fastapi.routing import APIRoute

from api.services import people
from store import users, web_sessions
from store.db import SessionMaker, transaction
from store.models import Role
from web.app import PAGES
from web.auth import SESSION_COOKIE

ANY = str(uuid.uuid4())
# What each form sends besides its token, so that only the token is missing.
FIELDS: dict[str, dict[str, str]] = {
    "/app/sign-in": {"email": "a@example.com", "password": "whatever it is"},
    "/app/sign-out": {},
    "/app/sign-in/link": {"email": "a@example.com"},
    "/app/link/{token}": {},
    "/app/password": {"password": "long enough words", "again": "long enough words"},
    "/app/timezone": {"timezone": "Europe/Paris"},
    "/app/people": {"email": "b@example.com", "role": "rep"},
    "/app/tasks/{task_id}/outcome": {"result": "no_answer"},
    "/app/tasks/{task_id}/skip": {},
    "/app/tasks/{task_id}/snooze": {"by": "day"},
    "/app/tasks/{task_id}/reschedule": {"due_at": "2030-01-01T10:00"},
    "/app/tasks/{task_id}/reassign": {"user_id": ANY},
    "/app/contacts/enroll": {"sequence_id": ANY, "contact_id": ANY},
    "/app/contacts/{contact_id}/steer": {"enrollment_id": ANY, "action": "stop"},
    "/app/sequences/new": {"name": "Made by someone else"},
    "/app/fulfillment/{list_id}/entries/{entry_id}/fulfill": {},
    "/app/sequences/{sequence_id}/edit": {"definition": '{"tracks": []}', "action": "save"},
    "/app/sequences/{sequence_id}/enrollments": {"action": "stop", "enrollment_id": ANY},
    "/app/sequences/{sequence_id}/migrate": {},
    "/app/sequences/{sequence_id}/sharing": {"action": "share", "user_id": ANY},
    "/app/sequences/{sequence_id}/archive": {},
    "/app/sequences/{sequence_id}/preview": {
        "step": "s",
        "email": "a@example.com",
        "to": "c@example.com",
    },
}


def _forms() -> list[str]:
    return sorted(
        route.path
        for module in PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    )


def test_every_form_is_in_the_table() -> None:
    assert _forms() == sorted(FIELDS)


async def test_no_form_is_taken_without_its_token(
    api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with transaction(sessionmaker) as session:
        admin = await users.create_user(session, email="admin@example.com", role=Role.admin)
        opened = await people.open_session(session, admin)
    api.cookies.set(SESSION_COOKIE, opened.token)
    for path, fields in FIELDS.items():
        concrete = path.replace("{token}", "t" * 43)
        for name in ("task_id", "sequence_id", "contact_id", "list_id", "entry_id"):
            concrete = concrete.replace("{" + name + "}", ANY)
        for token in ({}, {"csrf": "forged"}):
            answer = await api.post(concrete, data={**fields, **token})
            assert answer.status_code == 403, (path, token, answer.status_code, answer.text[:300])
    # Nothing was done: the admin is still signed in, and no one was invited.
    async with sessionmaker() as session:
        assert await people.signed_in(session, opened.token) is not None
        assert await web_sessions.user_with_email(session, "b@example.com") is None
