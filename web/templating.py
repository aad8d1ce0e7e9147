"""The pages' templates and how a page answers when something is refused."""

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

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
    ("/app/people", "People", ADMINS),
    ("/app/password", "Password", PEOPLE),
)


def nav_for(user: User) -> list[tuple[str, str]]:
    return [(path, label) for path, label, roles in NAV if user.role in roles]


TEMPLATES.env.globals["nav_for"] = nav_for


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
