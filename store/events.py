"""What contacts did, and whether the transaction that recorded it committed."""

import uuid
from collections.abc import Sequence as Seq
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from store.models import ContactEvent


class TransactionOutcome(StrEnum):
    committed = "committed"
    aborted = "aborted"
    open = "in progress"


async def add_event(session: AsyncSession, event: ContactEvent) -> None:
    await session.execute(insert(ContactEvent).values(**event.model_dump()))


async def transaction_id(session: AsyncSession) -> int:
    """The id of the session's transaction (PostgreSQL assigns one if it has none yet), by which
    another connection can later learn whether it committed."""
    return int(await session.scalar(text("select pg_current_xact_id()::text::bigint")))


async def transaction_outcome(connection: AsyncConnection, transaction: int) -> TransactionOutcome:
    """Whether the transaction committed, was rolled back, or is still open. PostgreSQL forgets
    the outcome of transactions hundreds of millions old; such a one counts as committed, since
    acting on an event that was refused is the smaller mistake than losing one that was kept."""
    status = await connection.scalar(
        text("select pg_xact_status(cast(cast(:xid as text) as xid8))"), {"xid": transaction}
    )
    return TransactionOutcome(status) if status else TransactionOutcome.committed


async def happened(
    session: AsyncSession,
    contact_id: uuid.UUID,
    event: str,
    *,
    name: str | None = None,
    enrollment_id: uuid.UUID | None = None,
    step_id: str | None = None,
    url_contains: str | None = None,
    since: datetime | None = None,
) -> bool:
    """Whether the contact did this (a person, not a machine flagged on the event), about the
    message `step_id` of `enrollment_id` sent if given, with a URL containing `url_contains`."""
    return bool(
        await session.scalar(
            text(
                """SELECT EXISTS (
                SELECT 1 FROM contact_event ev
                WHERE ev.contact_id = :contact_id AND ev.event = :event
                  AND NOT ev.data ? 'machine'
                  AND (CAST(:name AS text) IS NULL OR ev.name = :name)
                  AND (CAST(:since AS timestamptz) IS NULL OR ev.occurred_at >= :since)
                  AND (CAST(:url AS text) IS NULL
                       OR strpos(coalesce(ev.data->>'url', ev.name, ''), :url) > 0)
                  AND (CAST(:step AS text) IS NULL OR EXISTS (
                       SELECT 1 FROM message m
                       WHERE m.id::text = ev.data->>'message_id'
                         AND m.enrollment_id = :enrollment_id
                         AND split_part(m.effect_key, ':', 3) = :step)))"""
            ),
            {
                "contact_id": contact_id,
                "event": event,
                "name": name,
                "since": since,
                "url": url_contains,
                "step": step_id,
                "enrollment_id": enrollment_id,
            },
        )
    )


async def note_time_on_page(session: AsyncSession, event_id: uuid.UUID, seconds: float) -> bool:
    """Keep how long the page of a visit has been shown, as its script last reported; a report
    that arrives late, with less, changes nothing. False for a visit no longer kept."""
    kept = await session.scalar(
        text(
            """UPDATE contact_event
            SET data = jsonb_set(data, '{seconds}', to_jsonb(
                greatest(coalesce((data->>'seconds')::numeric, 0), CAST(:seconds AS numeric))))
            WHERE id = :id AND event = 'page_visited'
            RETURNING id"""
        ),
        {"id": event_id, "seconds": round(seconds, 1)},
    )
    return kept is not None


async def events_of_contact(
    session: AsyncSession, contact_id: uuid.UUID, *, limit: int, offset: int
) -> Seq[ContactEvent]:
    rows = await session.scalars(
        select(ContactEvent)
        .where(col(ContactEvent.contact_id) == contact_id)
        .order_by(col(ContactEvent.occurred_at).desc(), col(ContactEvent.id))
        .limit(limit)
        .offset(offset)
    )
    return rows.all()
