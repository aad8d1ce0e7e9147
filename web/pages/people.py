"""A person's own password and timezone, and the admins' list of people with its
invitations."""

from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, SettingsDep
from api.errors import Invalid
from api.roles import PEOPLE
from api.services import people
from api.services.sign_in_mail import send_link
from sequences import known_timezone
from store import users
from store.models import Role
from web.auth import SESSION_COOKIE, AdminForm, AdminPage, Signed, SignedForm, SignedIn
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


ZONES = sorted(available_timezones())


@router.get("/password")
async def password_page(request: Request, signed: SignedIn) -> Response:
    return page(request, "password.html", signed=signed, zones=ZONES)


@router.post("/timezone")
async def set_timezone(
    session: SessionDep, signed: SignedForm, timezone: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """The person's day and times in the app; empty is UTC."""
    try:
        signed.user.timezone = known_timezone(timezone or None)
    except ValueError as error:
        raise Invalid(str(error)) from None
    await session.flush()
    return RedirectResponse("/app/password", status_code=303)


@router.post("/password")
async def set_password(
    request: Request,
    session: SessionDep,
    signed: SignedForm,
    password: Annotated[str, Form(max_length=1000)],
    again: Annotated[str, Form(max_length=1000)],
) -> Response:
    problem = people.password_problem(password)
    if problem is None and password != again:
        problem = "the two passwords differ"
    if problem:
        return page(
            request, "password.html", 422, signed=signed, zones=ZONES, error=f"Password: {problem}."
        )
    await people.set_password(session, signed.user, password)
    # Setting it signed out every session, this one too: sign in again with it.
    response = RedirectResponse("/app/sign-in?next=/app/todo", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response


async def _people_page(
    request: Request, session: SessionDep, signed: Signed, status: int = 200, **context: object
) -> Response:
    everyone = await users.list_users(session)
    return page(
        request,
        "people.html",
        status,
        signed=signed,
        people=[u for u in everyone if u.role in PEOPLE],
        roles=[r.value for r in PEOPLE],
        **context,
    )


@router.get("/people")
async def people_page(request: Request, session: SessionDep, signed: AdminPage) -> Response:
    return await _people_page(request, session, signed)


@router.post("/people")
async def invite(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signed: AdminForm,
    email: Annotated[str, Form(min_length=3, max_length=320)],
    role: Annotated[Role, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    admin = signed.user
    user, token = await people.invite(session, email=email.strip(), name=name.strip(), role=role)
    await send_link(
        settings,
        to=user.email,
        token=token,
        lifetime=people.INVITATION_LIFETIME,
        invited_by=admin.name or admin.email,
    )
    return await _people_page(request, session, signed, 201, invited=user.email)
