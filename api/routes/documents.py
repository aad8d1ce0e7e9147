"""Documents providers fetch: a fax's pages. Open: the signed token in the link is the credential."""

from fastapi import APIRouter
from fastapi.responses import Response

import links
from api.deps import SessionDep, SettingsDep
from api.errors import NotFound, problems
from api.services.documents import text_pdf
from sequences import Channel
from store.models import Message

router = APIRouter(tags=["documents"], responses=problems(404, 422))


@router.get(
    "/fax-documents/{token}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The fax's pages"}},
)
async def fax_document(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The fax's pages as PDF, for the fax provider to fetch."""
    message_id = links.record_of(token, settings.require_link_secret(), links.FAX_DOCUMENT)
    message = await session.get(Message, message_id) if message_id else None
    if message is None or message.channel != Channel.fax:
        raise NotFound("this fax document link is not valid")
    pages = f"{message.subject}\n\n{message.body}" if message.subject else message.body
    return Response(text_pdf(pages), media_type="application/pdf")
