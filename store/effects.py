"""Effect keys: claim one inside the transaction of the effect so a retry changes nothing twice."""

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import AppliedEffect


async def claim_effect(
    session: AsyncSession, effect_key: str, enrollment_id: uuid.UUID | None
) -> bool:
    """True the first time a key is claimed; the caller applies its effect only then."""
    result = await session.execute(
        insert(AppliedEffect)
        .values(effect_key=effect_key, enrollment_id=enrollment_id)
        .on_conflict_do_nothing()
        .returning(col(AppliedEffect.effect_key))
    )
    return result.first() is not None
