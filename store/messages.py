"""The outbox of communications."""

import uuid
from collections.abc import Sequence as Seq
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Message, MessageStatus, table_of

# Core, not the ORM, for the insert every communication makes.
MESSAGE = table_of(Message)

# What a retry renders afresh for a message that failed: the address an operator fixed, and the
# content the contact's fixed record now merges into.
REFRESHED_ON_RETRY = ("to_address", "subject", "body", "html_body", "sender", "reply_to", "sent_by")


async def enqueue_message(
    session: AsyncSession, message: Message, *, claim_for: timedelta | None = None
) -> tuple[Message, bool]:
    """Record a message under its effect key; a second call with the same key returns the first.

    With `claim_for`, a message recorded now is also claimed for that long, for the caller to
    hand over at once; the second value says whether it was. A first that failed (its address
    was refused) is queued again as the second renders it: it never went out, and the step runs
    again only because someone retried it.
    """
    values = message.model_dump()
    claim = {"claimed_until": func.now() + claim_for} if claim_for else {}
    recorded = await session.scalar(
        insert(MESSAGE)
        .values({**values, **claim})
        .on_conflict_do_nothing(index_elements=["effect_key"])
        .returning(MESSAGE.c.id)
    )
    if recorded is not None:
        return message, bool(claim)
    stored = await session.scalar(
        select(Message).where(col(Message.effect_key) == message.effect_key).with_for_update()
    )
    assert stored is not None
    if stored.status == MessageStatus.failed:
        for field in REFRESHED_ON_RETRY:
            setattr(stored, field, values[field])
        stored.status, stored.status_detail, stored.claimed_until = MessageStatus.queued, None, None
        await session.flush()
    return stored, False


async def messages_for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Seq[Message]:
    rows = await session.scalars(
        select(Message)
        .where(col(Message.contact_id) == contact_id)
        .order_by(col(Message.created_at))
    )
    return rows.all()
