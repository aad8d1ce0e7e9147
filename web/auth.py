"""Who is signed in, what they may open, and the CSRF check every form passes."""

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request

from api.deps import SessionDep, get_app_state
from api.errors import DomainError, Forbidden
from api.roles import ADMINS, DESIGNERS, PEOPLE, check_role
from api.services import people
from store.models import Role, User, WebSession

SESSION_COOKIE = "cs_session"
# Before signing in there is no session to hold a CSRF token: the sign-in form's is also set
# as a cookie, and the two must match (a double-submit token).
SIGN_IN_COOKIE = "cs_sign_in"


class SignInNeeded(DomainError):
    """Answered with a redirect to the sign-in page, coming back to `path` after."""

    status_code = 401

    def __init__(self, path: str) -> None:
        super().__init__("sign in to see this page")
        self.path = path

    @property
    def sign_in_url(self) -> str:
        return f"/app/sign-in?next={quote(self.path)}"


@dataclass(frozen=True)
class Signed:
    user: User
    session: WebSession


async def signed_in(request: Request, session: SessionDep) -> Signed:
    token = request.cookies.get(SESSION_COOKIE)
    found = await people.signed_in(session, token) if token else None
    if found is None:
        raise SignInNeeded(request.url.path)
    user, web_session = found
    if user.role not in PEOPLE:
        raise Forbidden("integrations use the API with their key, not the web app")
    return Signed(user, web_session)


SignedIn = Annotated[Signed, Depends(signed_in)]


def same_origin(request: Request) -> None:
    """A browser names where a form was sent from; it must be this app."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Forbidden("this form was sent from another site")


async def form_of_session(
    request: Request, signed: SignedIn, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Signed:
    """A signed-in person's form: from this app, with the session's CSRF token."""
    same_origin(request)
    if not hmac.compare_digest(csrf.encode(), signed.session.csrf_token.encode()):
        raise Forbidden("this form has expired; reload the page and send it again")
    return signed


SignedForm = Annotated[Signed, Depends(form_of_session)]


def page_for(roles: tuple[Role, ...], *, form: bool = False) -> object:
    """A page (or, with `form`, a form) that only these roles may open or send."""

    async def page(signed: SignedIn) -> Signed:
        return _allowed(signed, roles)

    async def sent(signed: SignedForm) -> Signed:
        return _allowed(signed, roles)

    return Depends(sent if form else page)


def _allowed(signed: Signed, roles: tuple[Role, ...]) -> Signed:
    check_role(signed.user, roles)
    return signed


DesignerPage = Annotated[Signed, page_for(DESIGNERS)]
DesignerForm = Annotated[Signed, page_for(DESIGNERS, form=True)]
AdminPage = Annotated[Signed, page_for(ADMINS)]
AdminForm = Annotated[Signed, page_for(ADMINS, form=True)]


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure when the app is reached over TLS, directly or behind a proxy that
    PUBLIC_BASE_URL names with https."""
    public = get_app_state(request).settings.public_base_url
    return request.url.scheme == "https" or public.startswith("https://")
