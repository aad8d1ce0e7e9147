"""The visit script a customer's site embeds, and where it reports page views. Open: a visitor's
signed token (or the cookie a tracked link set) is the credential, and only pages of
TRACKED_SITES count."""

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import parse_body, problems
from api.routes.tracking import VISITOR_COOKIE, hit_of
from api.schemas.tracking import PageView, PageViewRecorded, TimeOnPage
from api.services import visits
from settings import Settings
from store.models import utcnow

router = APIRouter(prefix="/t", tags=["tracking"], responses=problems(403, 404, 422))

VISIT_SCRIPT = files("api").joinpath("static/visit.js").read_bytes()


def _text_body(model: type[PageView] | type[TimeOnPage]) -> dict[str, Any]:
    """Browsers send the JSON as text/plain, which needs no CORS preflight."""
    schema = {"schema": model.model_json_schema()}
    return {
        "requestBody": {
            "required": True,
            "content": {"text/plain": schema, "application/json": schema},
        }
    }


def _cors(request: Request, settings: Settings) -> dict[str, str]:
    """Lets a tracked site's page read the answer (and send the visitor's cookie)."""
    origin = request.headers.get("origin")
    if origin is None or visits.tracked_host(origin, settings) is None:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


@router.get(
    "/visit.js",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}, "description": "The visit script"}},
)
async def visit_script() -> Response:
    """The script a tracked site's pages embed: `<script src=".../t/visit.js" async>`."""
    return Response(
        VISIT_SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.post("/visits", openapi_extra=_text_body(PageView))
async def page_viewed(
    request: Request,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> PageViewRecorded:
    """A page of a tracked site was shown; kept as `page_visited` for its visitor, if known."""
    view = parse_body(PageView, await request.body(), "page view")
    token = await visits.record_view(
        session,
        temporal,
        settings,
        view,
        cookie=request.cookies.get(VISITOR_COOKIE),
        origin=request.headers.get("origin"),
        hit=hit_of(request),
    )
    response.headers.update(_cors(request, settings))
    return PageViewRecorded(recorded=token is not None, view=token)


@router.post(
    "/visits/{view}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=_text_body(TimeOnPage),
)
async def time_on_page(
    view: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """How long the page of a view was shown, as the visitor leaves it."""
    time = parse_body(TimeOnPage, await request.body(), "time on page")
    await visits.record_time_on_page(session, settings, view, time.seconds, utcnow())
    return Response(status_code=204, headers=_cors(request, settings))
