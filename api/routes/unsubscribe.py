"""The link at the foot of every email to a contact. Open: the signed token is the credential."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

import links
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import NotFound, problems
from api.services import contact_events
from sequences import Channel, EventType
from store import contacts, engagement, messages
from store.models import utcnow

router = APIRouter(tags=["unsubscribe"], responses=problems(404, 422))

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body><p>You will get no more emails from us.</p></body></html>"""


async def _opt_out(
    token: str, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> None:
    """A link of one message (counted against the step that sent it, and an `unsubscribed`
    event about it), or of an email from before links named their message."""
    secret = settings.require_link_secret()
    message_id = links.record_of(token, secret, links.UNSUBSCRIBE_MESSAGE)
    message = await messages.get_message(session, message_id) if message_id else None
    contact_id = message.contact_id if message else links.contact_of(token, secret)
    contact = await contacts.get_contact(session, contact_id) if contact_id else None
    if contact is None:
        raise NotFound("this unsubscribe link is not valid")
    already = Channel.email in contact.do_not_contact
    await contacts.opt_out(session, contact, Channel.email)
    if message is not None:
        await engagement.mark(session, message.id, engagement.Fact.unsubscribed, utcnow())
    if already:
        return
    data = {"channel": Channel.email.value, "message_id": str(message.id)} if message else {}
    await contact_events.record(
        session,
        temporal,
        settings.temporal_task_queue,
        contact,
        None,
        EventType.unsubscribed,
        data=data,
    )


# Its errors are JSON like every other route's, so only the page itself is declared as HTML.
@router.get(
    "/unsubscribe/{token}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "A page saying so"}},
)
async def unsubscribe_page(
    token: str, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> HTMLResponse:
    """Opened from the email: stop emailing this contact."""
    await _opt_out(token, session, temporal, settings)
    return HTMLResponse(PAGE)


@router.post("/unsubscribe/{token}", status_code=204)
async def unsubscribe_one_click(
    token: str, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> None:
    """Mail clients' one-click unsubscribe (RFC 8058): stop emailing this contact."""
    await _opt_out(token, session, temporal, settings)
