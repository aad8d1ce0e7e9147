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


def _sign_in_form(request: Request, next_path: str, status: int = 200, error: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request, "sign_in.html", status, csrf=token, next_path=_local(next_path), error=error
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/app/sign-in",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


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
    response.delete_cookie(SIGN_IN_COOKIE, path="/app/sign-in")
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
    same_origin(request)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
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
