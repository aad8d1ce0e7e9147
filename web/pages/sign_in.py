"""Signing in and out."""

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.services import people
from web.auth import SESSION_COOKIE, SIGN_IN_COOKIE, SignedForm, same_origin, secure_cookies
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
HOME = "/app/todo"


def _local(path: str) -> str:
    """Where to go after signing in: a page of this app, never another site."""
    return path if path.startswith("/app/") and not path.startswith("/app//") else HOME


def anonymous_form(
    request: Request, template: str, status: int = 200, **context: object
) -> Response:
    """A page whose form is sent before there is a session: its CSRF token is also set as a
    cookie, and the two must match when it comes back (a double-submit token)."""
    token = secrets.token_urlsafe(32)
    response = page(request, template, status, csrf=token, **context)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/app",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


def anonymous_form_checked(request: Request, csrf: str) -> bool:
    same_origin(request)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(csrf.encode(), expected.encode())


def _sign_in_form(request: Request, next_path: str, status: int = 200, error: str = "") -> Response:
    return anonymous_form(request, "sign_in.html", status, next_path=_local(next_path), error=error)


def signed_in_response(request: Request, opened: people.OpenedSession, to: str) -> Response:
    response = RedirectResponse(_local(to), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        expires=opened.expires_at,
        path="/app",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/app")
    return response


@router.get("")
async def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, next_path: Annotated[str, Query(alias="next", max_length=500)] = HOME
) -> Response:
    return _sign_in_form(request, next_path)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=500)] = HOME,
) -> Response:
    if not anonymous_form_checked(request, csrf):
        return _sign_in_form(request, next_path, 403, "This form had expired; sign in again.")
    user = await people.sign_in_with_password(session, email.strip(), password)
    if user is None:
        return _sign_in_form(request, next_path, 401, "That email and password do not match.")
    return signed_in_response(request, await people.open_session(session, user), next_path)


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep, _: SignedForm) -> Response:
    await people.sign_out(session, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/app/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response
