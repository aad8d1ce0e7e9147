"""Contact records and their tags."""

import uuid
from collections.abc import Sequence as Seq
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Contact, ContactTag, Tag


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


async def apply_tag(session: AsyncSession, contact_id: uuid.UUID, name: str) -> bool:
    """Apply a tag (created on first use); False when the contact already had it."""
    await session.execute(
        insert(Tag)
        .values(id=uuid.uuid4(), name=name)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    tag_id = await session.scalar(select(col(Tag.id)).where(col(Tag.name) == name))
    result = await session.execute(
        insert(ContactTag)
        .values(contact_id=contact_id, tag_id=tag_id)
        .on_conflict_do_nothing()
        .returning(col(ContactTag.contact_id))
    )
    return result.first() is not None


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
