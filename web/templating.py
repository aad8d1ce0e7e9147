"""The pages' templates and how a page answers when something is refused."""

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context

from api.errors import DomainError, describe
from api.roles import ADMINS, DESIGNERS, PEOPLE
from store.models import User
from web.auth import SignInNeeded

# Everything escaped, the SVG the diagram is drawn in as much as the HTML around it.
TEMPLATES = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True)
)
# The pages in the bar, and who sees each (those its route lets in).
NAV = (
    ("/app/todo", "To-Do", PEOPLE),
    ("/app/contacts", "Contacts", PEOPLE),
    ("/app/sequences", "Sequences", DESIGNERS),
    ("/app/fulfillment", "Fulfilment", DESIGNERS),
    ("/app/people", "People", ADMINS),
    ("/app/password", "You", PEOPLE),
)


def nav_for(user: User) -> list[tuple[str, str]]:
    return [(path, label) for path, label, roles in NAV if user.role in roles]


TEMPLATES.env.globals["nav_for"] = nav_for


def zone_of(user: User | None) -> ZoneInfo:
    """The person's timezone, UTC unless they chose one."""
    return ZoneInfo(user.timezone) if user is not None and user.timezone else ZoneInfo("UTC")


@pass_context
def local(context: Mapping[str, Any], moment: datetime | None, shown: str) -> str:
    """A time as the signed-in person reads it: in their timezone, which is named."""
    if moment is None:
        return ""
    signed = context.get("signed")
    return moment.astimezone(zone_of(signed.user if signed else None)).strftime(f"{shown} %Z")


TEMPLATES.env.filters["local"] = local


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status, title=HTTPStatus(status).phrase, message=message)


class PageRoute(APIRoute):
    """A page's refusals are pages too: a person needing to sign in is sent to do so, any other
    refusal (the API's errors, with the same messages) is shown with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded as needed:
                return RedirectResponse(needed.sign_in_url, status_code=303)
            except DomainError as refused:
                return error_page(request, refused.status_code, refused.message)
            except RequestValidationError as invalid:
                return error_page(request, 422, describe(invalid.errors()))

        return answer
