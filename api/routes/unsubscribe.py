"""The link at the foot of every email to a contact. Open: the signed token is the credential."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

import links
from api.deps import SessionDep, SettingsDep
from api.errors import NotFound, problems
from sequences import Channel
from store import contacts

router = APIRouter(tags=["unsubscribe"], responses=problems(404, 422))

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body><p>You will get no more emails from us.</p></body></html>"""


async def _opt_out(token: str, session: SessionDep, settings: SettingsDep) -> None:
    contact_id = links.contact_of(token, settings.require_link_secret())
    contact = await contacts.get_contact(session, contact_id) if contact_id else None
    if contact is None:
        raise NotFound("this unsubscribe link is not valid")
    await contacts.opt_out(session, contact, Channel.email)


# Its errors are JSON like every other route's, so only the page itself is declared as HTML.
@router.get(
    "/unsubscribe/{token}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "A page saying so"}},
)
async def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Opened from the email: stop emailing this contact."""
    await _opt_out(token, session, settings)
    return HTMLResponse(PAGE)


@router.post("/unsubscribe/{token}", status_code=204)
async def unsubscribe_one_click(token: str, session: SessionDep, settings: SettingsDep) -> None:
    """Mail clients' one-click unsubscribe (RFC 8058): stop emailing this contact."""
    await _opt_out(token, session, settings)
