"""Fulfilment lists: who gets the mug, the book, the letter, and whether it went out."""

import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Contact, FulfillmentEntry, FulfillmentList, Message, MessageStatus


async def lists_with_counts(session: AsyncSession) -> list[tuple[FulfillmentList, int, int]]:
    """Each list with its entries and how many are still waiting."""
    rows = await session.execute(
        select(
            FulfillmentList,
            func.count(col(FulfillmentEntry.id)),
            func.count(col(FulfillmentEntry.id)).filter(
                col(FulfillmentEntry.fulfilled_at).is_(None)
            ),
        )
        .outerjoin(FulfillmentEntry, col(FulfillmentEntry.list_id) == col(FulfillmentList.id))
        .group_by(col(FulfillmentList.id))
        .order_by(col(FulfillmentList.name))
    )
    return [(lst, total, waiting) for lst, total, waiting in rows]


async def entries(
    session: AsyncSession, list_id: uuid.UUID
) -> Seq[tuple[FulfillmentEntry, Contact, str]]:
    """Each entry with its contact and, for a letter, the letter's text."""
    rows = await session.execute(
        select(FulfillmentEntry, Contact, col(Message.body))
        .join(Contact, col(Contact.id) == col(FulfillmentEntry.contact_id))
        .outerjoin(Message, col(Message.effect_key) == col(FulfillmentEntry.effect_key))
        .where(col(FulfillmentEntry.list_id) == list_id)
        .order_by(col(FulfillmentEntry.created_at), col(FulfillmentEntry.id))
    )
    return [(entry, contact, letter or "") for entry, contact, letter in rows]


async def entry_for_update(session: AsyncSession, entry_id: uuid.UUID) -> FulfillmentEntry | None:
    return await session.get(FulfillmentEntry, entry_id, with_for_update=True)


async def mark_letter_sent(session: AsyncSession, entry: FulfillmentEntry) -> None:
    """A letter's message counts as sent once its entry is fulfilled."""
    if entry.effect_key is None:
        return
    await session.execute(
        update(Message)
        .where(col(Message.effect_key) == entry.effect_key)
        .where(col(Message.status) == MessageStatus.queued)
        .values(status=MessageStatus.sent, sent_at=entry.fulfilled_at)
    )
