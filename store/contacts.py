"""Contact records and their tags."""

import uuid
from collections.abc import Sequence as Seq
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from store import driver, effects, enrollments, sequences
from store.models import Contact, ContactTag, Tag, table_of


async def get_contact(session: AsyncSession, contact_id: uuid.UUID) -> Contact | None:
    return await session.get(Contact, contact_id)


async def list_contacts(
    session: AsyncSession, *, limit: int, offset: int, email: str | None = None
) -> tuple[Seq[Contact], int]:
    query = select(Contact)
    if email is not None:
        query = query.where(func.lower(Contact.email) == email.lower())
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(Contact.created_at), col(Contact.id)).limit(limit).offset(offset)
    )
    return rows.all(), total or 0


async def search(session: AsyncSession, text: str, *, limit: int) -> Seq[Contact]:
    """Contacts whose name, email or phone contains `text` (any case), newest first."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    name = func.concat_ws(" ", col(Contact.first_name), col(Contact.last_name))
    rows = await session.scalars(
        select(Contact)
        .where(
            or_(
                name.ilike(pattern, escape="\\"),
                col(Contact.email).ilike(pattern, escape="\\"),
                col(Contact.phone).ilike(pattern, escape="\\"),
            )
        )
        .order_by(col(Contact.created_at).desc(), col(Contact.id))
        .limit(limit)
    )
    return rows.all()


async def contacts_by_id(
    session: AsyncSession, contact_ids: Seq[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    rows = await session.scalars(select(Contact).where(col(Contact.id).in_(contact_ids)))
    return {contact.id: contact for contact in rows}


async def tag_names(session: AsyncSession, contact_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(col(Tag.name))
        .join(ContactTag, col(ContactTag.tag_id) == Tag.id)
        .where(col(ContactTag.contact_id) == contact_id)
        .order_by(col(Tag.name))
    )
    return list(rows)


_TAG, _CONTACT, _CONTACT_TAG = table_of(Tag), table_of(Contact), table_of(ContactTag)


def _tagging(*conditions: ColumnElement[bool]) -> ReturningInsert[Any]:
    """Give the contact an existing tag, where `conditions` hold. Joined with the contact, so
    that one deleted meanwhile gets nothing rather than an error."""
    return (
        insert(_CONTACT_TAG)
        .from_select(
            ["contact_id", "tag_id"],
            select(_CONTACT.c.id, _TAG.c.id)
            .select_from(_CONTACT.join(_TAG, _TAG.c.name == bindparam("name")))
            .where(_CONTACT.c.id == bindparam("contact_id"), *conditions),
        )
        .on_conflict_do_nothing()
        .returning(_CONTACT_TAG.c.contact_id)
    )


_TAG_CONTACT = _tagging()
_CLAIMED = effects.CLAIM.cte("claimed")
_TAGGED = _tagging(exists(select(_CLAIMED.c.effect_key))).cte("tagged")
_CLAIM_AND_TAG = select(exists(select(_CLAIMED.c.effect_key)), exists(select(_TAGGED.c.contact_id)))


async def claim_and_tag(
    session: AsyncSession,
    effect_key: str,
    enrollment_id: uuid.UUID | None,
    contact_id: uuid.UUID,
    name: str,
) -> tuple[bool, bool]:
    """Claim an effect key and, the first time, give the contact an existing tag: one round
    trip for what every tag step does. Whether it claimed the key, and whether it tagged; one
    that claimed but did not tag leaves the rest to apply_tag (a tag used for the first time,
    a contact that had it or is gone)."""
    params = {
        "key": effect_key,
        "enrollment_id": enrollment_id,
        "contact_id": contact_id,
        "name": name,
    }
    claimed, tagged = (await session.execute(_CLAIM_AND_TAG, params)).one()
    return bool(claimed), bool(tagged)


class TagClaim(NamedTuple):
    claimed: bool
    tagged: bool
    running: list[str]
    any_goal: bool


# The tag step's usual case whole: claim, tag, and who hears of it, in one round trip.
_CLAIM_TAG_AND_HEAR = driver.Compiled(
    select(
        exists(select(_CLAIMED.c.effect_key)),
        exists(select(_TAGGED.c.contact_id)),
        func.array(enrollments.RUNNING_OF_CONTACT.scalar_subquery()),
        sequences.ANY_GOAL,
    )
)


async def claim_tag_and_hear(
    connection: driver.Connection,
    effect_key: str,
    enrollment_id: uuid.UUID | None,
    contact_id: uuid.UUID,
    name: str,
    *,
    goals_on: str,
) -> TagClaim:
    """claim_and_tag, and what enrollments.hearers would say after it, on the driver's
    connection. The workflows are those of the contact's enrollments still running."""
    [(claimed, tagged, running, any_goal)] = await driver.rows(
        connection,
        _CLAIM_TAG_AND_HEAR,
        {
            "key": effect_key,
            "enrollment_id": enrollment_id,
            "contact_id": contact_id,
            "name": name,
            "goal": sequences.goal_on(goals_on),
        },
    )
    return TagClaim(bool(claimed), bool(tagged), list(running), bool(any_goal))


async def apply_tag(session: AsyncSession, contact_id: uuid.UUID, name: str) -> bool:
    """Apply a tag (created on first use); False when the contact already had it or is gone."""
    names = {"contact_id": contact_id, "name": name}
    if await session.scalar(_TAG_CONTACT, names) is not None:
        return True
    if await session.scalar(select(_TAG.c.id).where(_TAG.c.name == name)) is not None:
        return False
    await session.execute(
        insert(_TAG)
        .values(id=uuid.uuid4(), name=name)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return await session.scalar(_TAG_CONTACT, names) is not None


async def remove_tag(session: AsyncSession, contact_id: uuid.UUID, name: str) -> bool:
    """Remove a tag from the contact; False when it did not have it."""
    tag_id = await session.scalar(select(col(Tag.id)).where(col(Tag.name) == name))
    if tag_id is None:
        return False
    result = await session.execute(
        delete(ContactTag)
        .where(col(ContactTag.contact_id) == contact_id, col(ContactTag.tag_id) == tag_id)
        .returning(col(ContactTag.tag_id))
    )
    return result.first() is not None


async def matching_ids(
    session: AsyncSession,
    *,
    tag: str | None,
    owner_id: uuid.UUID | None,
    field: str | None,
    equals: Any,
    limit: int,
) -> list[uuid.UUID]:
    """Ids of contacts with the tag, the owner and the field value given (all that are given)."""
    query = select(col(Contact.id))
    if tag is not None:
        query = (
            query.join(ContactTag, col(ContactTag.contact_id) == col(Contact.id))
            .join(Tag, col(Tag.id) == col(ContactTag.tag_id))
            .where(col(Tag.name) == tag)
        )
    if owner_id is not None:
        query = query.where(col(Contact.owner_id) == owner_id)
    if field is not None:
        query = query.where(col(Contact.fields).contains({field: equals}))
    return list(await session.scalars(query.order_by(col(Contact.created_at)).limit(limit)))


async def opt_out(session: AsyncSession, contact: Contact, channel: str) -> None:
    """Mark the contact do-not-contact on the channel, like the unsubscribe link does for email."""
    # Locked and re-read so that two opt-outs at once both stay in the list.
    await session.refresh(contact, ["do_not_contact"], with_for_update=True)
    if channel not in contact.do_not_contact:
        contact.do_not_contact = [*contact.do_not_contact, channel]
    await session.flush()


async def with_phone(session: AsyncSession, phone: str) -> Seq[Contact]:
    """Contacts with this number (E.164), oldest first."""
    rows = await session.scalars(
        select(Contact).where(col(Contact.phone) == phone).order_by(col(Contact.created_at))
    )
    return rows.all()


async def with_email(session: AsyncSession, address: str) -> Seq[Contact]:
    """Contacts with this email address, however its case was written, oldest first."""
    rows = await session.scalars(
        select(Contact)
        .where(func.lower(col(Contact.email)) == address.lower())
        .order_by(col(Contact.created_at))
    )
    return rows.all()
