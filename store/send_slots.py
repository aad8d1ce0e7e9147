"""Sending slots under the rate limits and daily caps, and each message's reserved time."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import SendReservation, SendSlot


async def reservation(session: AsyncSession, effect_key: str) -> SendReservation | None:
    return await session.get(SendReservation, effect_key)


async def keep_reservation(
    session: AsyncSession,
    effect_key: str,
    enrollment_id: uuid.UUID | None,
    send_at: datetime,
    reason: str | None,
) -> None:
    """Keep the message's time; the first reservation for its effect key stands."""
    await session.execute(
        insert(SendReservation)
        .values(effect_key=effect_key, enrollment_id=enrollment_id, send_at=send_at, reason=reason)
        .on_conflict_do_nothing(index_elements=["effect_key"])
    )


async def full_windows(
    session: AsyncSession, scope: str, since: datetime, most: int, horizon: int
) -> list[datetime]:
    """The starts of the scope's windows from `since` on that have no room left, in order."""
    rows = await session.scalars(
        select(col(SendSlot.window_start))
        .where(col(SendSlot.scope) == scope)
        .where(col(SendSlot.window_start) >= since)
        .where(col(SendSlot.used) >= most)
        .order_by(col(SendSlot.window_start))
        .limit(horizon)
    )
    return list(rows)


async def take_slot(session: AsyncSession, scope: str, window: datetime, most: int) -> bool:
    """Take one place in the window; False when it was full."""
    statement = (
        insert(SendSlot)
        .values(scope=scope, window_start=window, used=1)
        .on_conflict_do_update(
            index_elements=["scope", "window_start"],
            set_={"used": SendSlot.used + 1},
            where=col(SendSlot.used) < most,
        )
        .returning(col(SendSlot.used))
    )
    return (await session.execute(statement)).first() is not None
