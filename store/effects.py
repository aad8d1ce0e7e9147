"""Effect keys: claim one inside the transaction of the effect so a retry changes nothing twice."""

import uuid

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AppliedEffect, table_of

_APPLIED = table_of(AppliedEffect)
CLAIM = (
    insert(_APPLIED)
    .values(effect_key=bindparam("key"), enrollment_id=bindparam("enrollment_id"))
    .on_conflict_do_nothing()
    .returning(_APPLIED.c.effect_key)
)


async def claim_effect(
    session: AsyncSession, effect_key: str, enrollment_id: uuid.UUID | None
) -> bool:
    """True the first time a key is claimed; the caller applies its effect only then."""
    claimed = await session.scalar(CLAIM, {"key": effect_key, "enrollment_id": enrollment_id})
    return claimed is not None
