"""Contacts: search, a contact's page (its sequences and timeline), enrolling from either, and
stopping or retrying a contact's enrollment from its page."""

import uuid
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import Invalid, NotFound
from api.roles import DESIGNERS
from api.services import enrollments as enrolling
from api.services import steering, todo
from store import contacts, enrollments, events, messages, records, sequences, tasks
from store.models import Contact, Sequence, User
from web.auth import SignedForm, SignedIn
from web.templating import PageRoute, page
from workflows.state import OpenTasks

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
FOUND = 100
TIMELINE = 100
# As many as the API enrolls in one request.
MAX_CHOSEN = 1000


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str
    detail: str


async def _enrollable(session: SessionDep, user: User) -> Seq[Sequence]:
    """The sequences the person may enroll into: all published ones, for a rep those shared."""
    return await sequences.published_for(session, None if user.role in DESIGNERS else user.id)


@router.get("/contacts")
async def contacts_page(
    request: Request,
    session: SessionDep,
    signed: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = await contacts.search(session, q.strip(), limit=FOUND) if q.strip() else []
    return page(
        request,
        "contacts.html",
        signed=signed,
        q=q,
        found=found,
        sequences=await _enrollable(session, signed.user),
    )


async def _timeline(session: SessionDep, contact: Contact, user: User) -> list[Moment]:
    moments = [
        Moment(m.created_at, m.channel, f"{m.subject or ''} ({m.status.value})".strip())
        for m in await messages.messages_for_contact(session, contact.id)
    ]
    moments += [
        Moment(e.occurred_at, e.event.replace("_", " "), e.name or str(e.data.get("url", "")))
        for e in await events.events_of_contact(session, contact.id, limit=TIMELINE, offset=0)
    ]
    moments += [
        Moment(n.created_at, f"{n.kind} note", n.body)
        for n in await records.notes_for_contact(session, contact.id)
    ]
    only = todo.only_assigned_to(user)
    moments += [
        Moment(t.created_at, f"{t.kind} to-do", f"{t.title}: {t.result or t.status.value}")
        for t in await tasks.tasks_for_contact(session, contact.id, assigned_to=only)
    ]
    return sorted(moments, key=lambda moment: moment.at, reverse=True)[:TIMELINE]


@router.get("/contacts/{contact_id}")
async def contact_page(
    contact_id: uuid.UUID, request: Request, session: SessionDep, signed: SignedIn
) -> Response:
    contact = await contacts.get_contact(session, contact_id)
    if contact is None:
        raise NotFound.of("contact", contact_id)
    enrolled = await enrollments.list_enrollments(
        session, contact_id=contact.id, limit=100, offset=0
    )
    names = await sequences.names_of(session, [e.sequence_id for e in enrolled])
    return page(
        request,
        "contact.html",
        signed=signed,
        contact=contact,
        enrolled=[(e, names.get(e.sequence_id, "")) for e in enrolled],
        timeline=await _timeline(session, contact, signed.user),
        sequences=await _enrollable(session, signed.user),
        dispositions=[d.value for d in OpenTasks],
    )


@router.post("/contacts/enroll")
async def enroll(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signed: SignedForm,
    sequence_id: Annotated[uuid.UUID, Form()],
    contact_id: Annotated[list[uuid.UUID], Form()],
) -> Response:
    if len(contact_id) > MAX_CHOSEN:
        raise Invalid(f"choose at most {MAX_CHOSEN} contacts at once; this had {len(contact_id)}")
    sequence = await enrolling.sequence_to_enroll_into(session, signed.user, sequence_id)
    results = await enrolling.enroll(
        session, temporal, settings.temporal_task_queue, sequence, contact_id, signed.user
    )
    found = await contacts.contacts_by_id(session, contact_id)
    return page(
        request,
        "enrolled.html",
        signed=signed,
        sequence=sequence,
        results=[(r, found.get(r.contact_id)) for r in results],
    )


@router.post("/contacts/{contact_id}/steer")
async def steer(
    contact_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    signed: SignedForm,
    enrollment_id: Annotated[uuid.UUID, Form()],
    action: Annotated[Literal["stop", "retry"], Form()],
    open_tasks: Annotated[OpenTasks, Form()] = OpenTasks.leave_open,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Stop one of the contact's enrollments, or retry its failed step; back to its page."""
    user = signed.user
    enrollment = await steering.enrollment_to_steer(session, user, enrollment_id)
    if enrollment.contact_id != contact_id:
        raise NotFound(f"contact {contact_id} has no enrollment {enrollment_id}")
    if action == "retry":
        await steering.retry(session, temporal, user, enrollment_id)
    else:
        await enrolling.stop(temporal, enrollment, steering.stop_request(user, reason, open_tasks))
    return RedirectResponse(f"/app/contacts/{contact_id}", status_code=303)
