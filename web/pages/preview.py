"""A communication step previewed for a chosen contact, and sent to an address as a test."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import EmailStr

from api.deps import SessionDep, SettingsDep
from api.errors import Invalid, NotFound
from api.services import preview
from sequences import CommunicationStep, SequenceDefinition
from store import contacts
from store.models import Contact, Sequence
from web.auth import DesignerForm, DesignerPage, Signed
from web.pages.sequences import sequence_or_404, shown_definition
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Query(max_length=320)]


async def _of(session: SessionDep, sequence_id: uuid.UUID) -> tuple[Sequence, SequenceDefinition]:
    sequence = await sequence_or_404(session, sequence_id)
    definition, _ = await shown_definition(session, sequence)
    if definition is None:
        raise Invalid("this sequence's definition does not parse; fix it first")
    return sequence, definition


async def _contact(session: SessionDep, email: str) -> Contact | None:
    found = await contacts.with_email(session, email.strip()) if email.strip() else []
    return found[0] if found else None


async def _page(
    request: Request,
    session: SessionDep,
    signed: Signed,
    sequence_id: uuid.UUID,
    step: str,
    email: str,
    status: int = 200,
    **context: object,
) -> Response:
    sequence, definition = await _of(session, sequence_id)
    contact = await _contact(session, email)
    if email and contact is None:
        raise NotFound(f"no contact has the email {email.strip()}")
    steps = [s for t in definition.tracks for s in t.steps if isinstance(s, CommunicationStep)]
    shown = await preview.rendered(session, definition, step, contact) if step and contact else {}
    return page(
        request,
        "preview.html",
        status,
        signed=signed,
        sequence=sequence,
        steps=steps,
        step=step,
        email=email,
        shown=shown,
        **context,
    )


@router.get("/sequences/{sequence_id}/preview")
async def preview_page(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    signed: DesignerPage,
    step: Text = "",
    email: Text = "",
) -> Response:
    return await _page(request, session, signed, sequence_id, step, email)


@router.post("/sequences/{sequence_id}/preview")
async def send_test(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signed: DesignerForm,
    step: Annotated[str, Form(max_length=100)],
    email: Annotated[str, Form(max_length=320)],
    to: Annotated[EmailStr, Form()],
) -> Response:
    _, definition = await _of(session, sequence_id)
    contact = await _contact(session, email)
    if contact is None:
        raise NotFound(f"no contact has the email {email.strip()}")
    shown = await preview.rendered(session, definition, step, contact)
    await preview.send_test(settings, definition, step, shown, str(to))
    return await _page(request, session, signed, sequence_id, step, email, sent_to=str(to))
