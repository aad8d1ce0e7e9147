"""Signing in by a one-time link sent by email (an invitation is one too)."""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response

from api.deps import SessionDep, SettingsDep
from api.services import people
from api.services.sign_in_mail import send_link
from web.pages.sign_in import anonymous_form, anonymous_form_checked, signed_in_response
from web.templating import PageRoute, error_page, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
Token = Annotated[str, Path(min_length=20, max_length=100)]


@router.post("/sign-in/link")
async def email_a_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not anonymous_form_checked(request, csrf):
        return error_page(request, 403, "This form had expired; ask for the link again.")
    found = await people.link_for(session, email.strip())
    if found is not None:
        user, token = found
        await send_link(
            settings,
            to=user.email,
            token=token,
            lifetime=people.LINK_LIFETIME,
        )
    # The same answer whether or not the address has an account.
    return page(request, "link_sent.html", email=email.strip())


@router.get("/link/{token}")
async def link_page(request: Request, token: Token) -> Response:
    # Only the button below uses the link: mail scanners that fetch every link in an email
    # would otherwise spend it before its reader does.
    return anonymous_form(request, "link.html", token=token)


@router.post("/link/{token}")
async def use_link(
    request: Request,
    session: SessionDep,
    token: Token,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not anonymous_form_checked(request, csrf):
        return anonymous_form(request, "link.html", 403, token=token, error="Press it again.")
    user = await people.sign_in_with_link(session, token)
    if user is None:
        return error_page(
            request, 410, "This link was used already or has expired; ask for a new one."
        )
    opened = await people.open_session(session, user)
    # A person invited has no password yet: offered to choose one first.
    return signed_in_response(request, opened, "/app/password" if not user.password_hash else "")
