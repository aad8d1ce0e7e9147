"""The outbox of communications."""

import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Message


async def enqueue_message(session: AsyncSession, message: Message) -> Message:
    """Record a message under its effect key; a second call with the same key returns the first."""
    values = message.model_dump()
    await session.execute(
        insert(Message).values(**values).on_conflict_do_nothing(index_elements=["effect_key"])
    )
    stored = await session.scalar(
        select(Message).where(col(Message.effect_key) == message.effect_key)
    )
    assert stored is not None
    return stored


async def messages_for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Seq[Message]:
    rows = await session.scalars(
        select(Message)
        .where(col(Message.contact_id) == contact_id)
        .order_by(col(Message.created_at))
    )
    return rows.all()
