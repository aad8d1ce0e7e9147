import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.errors import Invalid, NotFound, problems
from api.schemas.common import Limit, Offset, Text
from api.schemas.contacts import (
    ContactCreate,
    ContactEventRead,
    ContactList,
    ContactRead,
    ContactUpdate,
    MessageRead,
    NoteRead,
)
from api.schemas.enrollments import EnrollmentRead
from api.schemas.events import TagBody
from api.services.contact_events import fan_out_after_commit
from sequences import EventType, value_fits
from sequences.phones import to_e164
from settings import Settings
from store import contacts, custom_fields, enrollments, events, messages, records, users
from store.models import Company, Contact

router = APIRouter(prefix="/contacts", tags=["contacts"], responses=problems(401, 404, 422))


async def _read(session: SessionDep, contact: Contact) -> ContactRead:
    tags = await contacts.tag_names(session, contact.id)
    return ContactRead.model_validate({**contact.model_dump(), "tags": tags})


async def _contact_or_404(session: SessionDep, contact_id: uuid.UUID) -> Contact:
    contact = await contacts.get_contact(session, contact_id)
    if contact is None:
        raise NotFound.of("contact", contact_id)
    return contact


def _normalized_phone(body: ContactCreate, settings: Settings) -> None:
    """Numbers are kept in E.164, so every comparison (an inbound STOP) finds the contact."""
    if body.phone:
        try:
            body.phone = to_e164(body.phone, settings.default_phone_region)
        except ValueError as error:
            raise Invalid(f"phone: {error}") from None


async def _check_references(session: SessionDep, body: ContactCreate) -> None:
    if body.owner_id and await users.get_user(session, body.owner_id) is None:
        raise Invalid(f"owner_id: no user {body.owner_id}")
    if body.company_id and await session.get(Company, body.company_id) is None:
        raise Invalid(f"company_id: no company {body.company_id}")
    types = await custom_fields.field_types(session) if body.fields else {}
    for name, value in (body.fields or {}).items():
        kind = types.get(name)
        if kind and value is not None and not value_fits(kind, value):
            raise Invalid(f"fields.{name}: {value!r} is not a {kind}")


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_contact(
    body: ContactCreate, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> ContactRead:
    """Create a contact."""
    _normalized_phone(body, settings)
    await _check_references(session, body)
    contact = Contact(
        **{**body.model_dump(), "mailing_address": body.model_dump()["mailing_address"] or {}}
    )
    session.add(contact)
    await session.flush()
    return await _read(session, contact)


@router.get("")
async def list_contacts(
    session: SessionDep,
    _: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
    email: Annotated[Text | None, Query(max_length=320)] = None,
) -> ContactList:
    """List contacts, optionally by email."""
    rows, total = await contacts.list_contacts(session, limit=limit, offset=offset, email=email)
    return ContactList(items=[await _read(session, row) for row in rows], total=total)


@router.get("/{contact_id}")
async def get_contact(contact_id: uuid.UUID, session: SessionDep, _: CurrentUser) -> ContactRead:
    """One contact with its tags."""
    return await _read(session, await _contact_or_404(session, contact_id))


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: uuid.UUID,
    body: ContactUpdate,
    session: SessionDep,
    settings: SettingsDep,
    _: CurrentUser,
) -> ContactRead:
    """Change the fields sent; running enrollments use the new values from their next step."""
    contact = await _contact_or_404(session, contact_id)
    _normalized_phone(body, settings)
    await _check_references(session, body)
    changes = body.model_dump(exclude_unset=True)
    for name in ("first_name", "last_name", "fields", "do_not_contact"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name}: cannot be null")
    if "mailing_address" in changes:
        changes["mailing_address"] = changes["mailing_address"] or {}
    for name, value in changes.items():
        setattr(contact, name, value)
    await session.flush()
    return await _read(session, contact)


@router.get("/{contact_id}/enrollments")
async def contact_enrollments(
    contact_id: uuid.UUID,
    session: SessionDep,
    _: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[EnrollmentRead]:
    """The contact's enrollments in every sequence, newest first."""
    await _contact_or_404(session, contact_id)
    rows = await enrollments.list_enrollments(
        session, contact_id=contact_id, limit=limit, offset=offset
    )
    return [EnrollmentRead.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{contact_id}/notes")
async def contact_notes(
    contact_id: uuid.UUID, session: SessionDep, _: CurrentUser
) -> list[NoteRead]:
    """The notes on the contact's record (those note steps wrote among them), oldest first."""
    await _contact_or_404(session, contact_id)
    rows = await records.notes_for_contact(session, contact_id)
    return [NoteRead.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{contact_id}/messages")
async def contact_messages(
    contact_id: uuid.UUID, session: SessionDep, _: CurrentUser
) -> list[MessageRead]:
    """Every communication to the contact, oldest first."""
    await _contact_or_404(session, contact_id)
    rows = await messages.messages_for_contact(session, contact_id)
    return [MessageRead.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{contact_id}/events")
async def contact_events_timeline(
    contact_id: uuid.UUID,
    session: SessionDep,
    _: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ContactEventRead]:
    """What the contact did (opens, clicks, visits, replies, bounces...), newest first."""
    await _contact_or_404(session, contact_id)
    rows = await events.events_of_contact(session, contact_id, limit=limit, offset=offset)
    return [ContactEventRead.model_validate(row, from_attributes=True) for row in rows]


@router.post("/{contact_id}/tags")
async def apply_tag(
    contact_id: uuid.UUID,
    body: TagBody,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> ContactRead:
    """Apply a tag; the contact's enrollments and sequence goals see it as a tag_applied event."""
    contact = await _contact_or_404(session, contact_id)
    if await contacts.apply_tag(session, contact.id, body.tag):
        await fan_out_after_commit(
            session,
            temporal,
            settings.temporal_task_queue,
            uuid.uuid4(),
            contact.id,
            EventType.tag_applied,
            body.tag,
            enroll_as=user.id,
        )
    return await _read(session, contact)


@router.delete("/{contact_id}/tags/{tag}")
async def remove_tag(
    contact_id: uuid.UUID,
    tag: Annotated[Text, Path(max_length=100)],
    session: SessionDep,
    _: CurrentUser,
) -> ContactRead:
    """Remove a tag from the contact."""
    contact = await _contact_or_404(session, contact_id)
    if not await contacts.remove_tag(session, contact.id, tag):
        raise NotFound(f"contact {contact_id} has no tag {tag!r}")
    return await _read(session, contact)
