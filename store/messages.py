"""The outbox of communications."""

import uuid
from collections.abc import Sequence as Seq
from datetime import timedelta

from sqlalchemy import Interval, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from store.models import Message, MessageStatus, table_of

# Core statements built once, not ORM ones built per call: every communication makes them.
_MESSAGE = table_of(Message)
_CLAIM_FOR = bindparam("claim_for", type_=Interval())
_RECORD = (
    insert(_MESSAGE).on_conflict_do_nothing(index_elements=["effect_key"]).returning(_MESSAGE.c.id)
)
_RECORD_CLAIMED = _RECORD.values(claimed_until=func.now() + _CLAIM_FOR)
_THE_MESSAGE = _MESSAGE.c.id == bindparam("message_id")
# The values to set are given with each call.
_UPDATE = update(_MESSAGE).where(_THE_MESSAGE)
_CLAIM = (
    update(_MESSAGE)
    .where(
        _THE_MESSAGE,
        _MESSAGE.c.status == MessageStatus.queued,
        or_(_MESSAGE.c.claimed_until.is_(None), _MESSAGE.c.claimed_until < func.now()),
    )
    .values(claimed_until=func.now() + _CLAIM_FOR)
    .returning(_MESSAGE.c.id)
)

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
    if claim_for:
        del values["claimed_until"]
        recorded = await session.scalar(_RECORD_CLAIMED, {**values, "claim_for": claim_for})
    else:
        recorded = await session.scalar(_RECORD, values)
    if recorded is not None:
        return message, claim_for is not None
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


async def claim_message(
    connection: AsyncConnection, message_id: uuid.UUID, claim_for: timedelta
) -> bool:
    """Take a queued message for one attempt to hand over, unless another attempt holds it."""
    params = {"message_id": message_id, "claim_for": claim_for}
    return (await connection.execute(_CLAIM, params)).first() is not None


async def update_message(
    connection: AsyncConnection, message_id: uuid.UUID, **values: object
) -> None:
    await connection.execute(_UPDATE, {"message_id": message_id, **values})


async def messages_for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Seq[Message]:
    rows = await session.scalars(
        select(Message)
        .where(col(Message.contact_id) == contact_id)
        .order_by(col(Message.created_at))
    )
    return rows.all()


async def by_provider_id(session: AsyncSession, provider_id: str) -> Message | None:
    """The message a provider knows by this id, locked: a provider may report one message's
    statuses at the same moment."""
    return await session.scalar(
        select(Message)
        .where(col(Message.provider_id) == provider_id)
        .order_by(col(Message.created_at))
        .limit(1)
        .with_for_update()
    )


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.get(Message, message_id)


# Enough of a thread for mail clients to place a reply; longer ones keep their latest.
THREAD_KEPT = 20


async def thread_ids(session: AsyncSession, message: Message) -> list[str]:
    """The Message-IDs (as sent, without angle brackets) of the messages `message` continues
    the thread of, oldest first."""
    found: list[str] = []
    earlier = message.thread_of
    while earlier is not None and len(found) < THREAD_KEPT:
        row = (
            await session.execute(
                select(col(Message.provider_id), col(Message.thread_of)).where(
                    col(Message.id) == earlier, col(Message.channel) == "email"
                )
            )
        ).first()
        if row is None:
            break
        if row.provider_id:
            found.append(row.provider_id)
        earlier = row.thread_of
    return found[::-1]


async def latest_of_step(
    session: AsyncSession, enrollment_id: uuid.UUID, step_id: str
) -> Message | None:
    """The message one step of an enrollment sent last (a loop may have sent it again)."""
    return await session.scalar(
        select(Message)
        .where(
            col(Message.enrollment_id) == enrollment_id,
            func.split_part(col(Message.effect_key), ":", 3) == step_id,
        )
        .order_by(col(Message.created_at).desc())
        .limit(1)
    )


async def latest_email_to(session: AsyncSession, contact_id: uuid.UUID) -> Message | None:
    """The last email a sequence sent the contact itself: what a reply that names none answers."""
    return await session.scalar(
        select(Message)
        .where(
            col(Message.contact_id) == contact_id,
            col(Message.channel) == "email",
            col(Message.to_contact),
            col(Message.status).in_(
                [MessageStatus.sent, MessageStatus.delivered, MessageStatus.bounced]
            ),
        )
        .order_by(col(Message.created_at).desc())
        .limit(1)
    )
