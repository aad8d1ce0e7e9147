"""HTTP post steps' deliveries, one row per effect key: the last answer the target gave."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import HttpDelivery


async def delivery(session: AsyncSession, effect_key: str) -> HttpDelivery | None:
    return await session.scalar(
        select(HttpDelivery).where(col(HttpDelivery.effect_key) == effect_key)
    )


async def record_answer(session: AsyncSession, answered: HttpDelivery) -> None:
    """Keep the target's answer; a later attempt's answer replaces an earlier one's."""
    values = answered.model_dump()
    await session.execute(
        insert(HttpDelivery)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["effect_key"],
            set_={k: values[k] for k in ("status_code", "response_excerpt")},
        )
    )
