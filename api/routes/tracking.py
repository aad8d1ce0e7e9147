"""The open pixel and link redirects in tracked emails. Open: each link's signature is the
credential, and it covers the target, so the redirect leads nowhere the email did not."""

import base64
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

import links
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import NotFound, problems
from api.services import tracking, visits
from store.models import utcnow

router = APIRouter(prefix="/t", tags=["tracking"], responses=problems(404, 422))

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
VISITOR_COOKIE = "cs_visitor"


def hit_of(request: Request) -> tracking.Hit:
    return tracking.Hit(
        method=request.method,
        user_agent=request.headers.get("user-agent", ""),
        client=request.client.host if request.client else None,
        at=utcnow(),
    )


_PIXEL_ROUTE: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {"image/gif": {}}, "description": "A transparent pixel"}},
}
_CLICK_ROUTE: dict[str, Any] = {
    "response_class": RedirectResponse,
    "status_code": 302,
    "responses": {302: {"description": "On to the link's target"}},
}


# HEAD is declared apart from GET, so each has its own OpenAPI operation: scanners send it.
@router.head("/o/{token}.gif", **_PIXEL_ROUTE)
@router.get("/o/{token}.gif", **_PIXEL_ROUTE)
async def open_pixel(
    token: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """A tracked email's images were shown: an open, a person's or a privacy proxy's."""
    hit = hit_of(request)
    signed = links.read_expiring(token, settings.require_link_secret(), links.OPEN_PIXEL, hit.at)
    if signed is None:
        raise NotFound("this pixel is not one of ours")
    if not signed.expired:
        await tracking.record_hit(session, temporal, settings, signed.record_id, hit)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.head("/c/{token}", **_CLICK_ROUTE)
@router.get("/c/{token}", **_CLICK_ROUTE)
async def click(
    token: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    u: str = Query(max_length=2000, description="The target, as signed in the token."),
) -> RedirectResponse:
    """A link in a tracked email was followed: a click, a person's or a scanner's."""
    hit = hit_of(request)
    secret = settings.require_link_secret()
    signed = links.read_expiring(token, secret, links.CLICK, hit.at, u)
    if signed is None:
        raise NotFound("this link is not one of ours, or was altered")
    answer = RedirectResponse(u, status_code=302, headers=NO_STORE)
    if signed.expired:
        return answer
    message = await tracking.record_hit(session, temporal, settings, signed.record_id, hit, u)
    if message is not None:
        visitor = links.expiring_token(
            message.contact_id, secret, links.VISITOR, hit.at + links.TRACKED_FOR
        )
        answer.headers["location"] = visits.with_visitor(u, visitor, settings)
        answer.set_cookie(
            VISITOR_COOKIE,
            visitor,
            max_age=int(links.TRACKED_FOR.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=settings.public_base_url.startswith("https://"),
        )
    return answer
