"""Sequences, their drafts and their immutable published versions."""

import uuid
from collections.abc import Sequence as Seq
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Sequence, SequenceShare, SequenceStatus, SequenceVersion, utcnow


async def get_sequence(
    session: AsyncSession, sequence_id: uuid.UUID, *, for_update: bool = False
) -> Sequence | None:
    return await session.get(Sequence, sequence_id, with_for_update=for_update)


async def list_sequences(session: AsyncSession, *, limit: int, offset: int) -> Seq[Sequence]:
    rows = await session.scalars(
        select(Sequence)
        .order_by(col(Sequence.created_at), col(Sequence.id))
        .limit(limit)
        .offset(offset)
    )
    return rows.all()


async def versions_of(session: AsyncSession, sequence_id: uuid.UUID) -> Seq[SequenceVersion]:
    rows = await session.scalars(
        select(SequenceVersion)
        .where(col(SequenceVersion.sequence_id) == sequence_id)
        .order_by(col(SequenceVersion.version))
    )
    return rows.all()


async def get_version(
    session: AsyncSession, sequence_id: uuid.UUID, version: int
) -> SequenceVersion | None:
    return await session.scalar(
        select(SequenceVersion).where(
            col(SequenceVersion.sequence_id) == sequence_id, col(SequenceVersion.version) == version
        )
    )


async def publish(
    session: AsyncSession, sequence: Sequence, published_by: uuid.UUID
) -> SequenceVersion:
    """Freeze the current draft as the next version. The caller holds the sequence row lock."""
    number = (
        await session.scalar(
            select(func.max(col(SequenceVersion.version))).where(
                col(SequenceVersion.sequence_id) == sequence.id
            )
        )
        or 0
    ) + 1
    version = SequenceVersion(
        sequence_id=sequence.id,
        version=number,
        definition=sequence.definition,
        published_by=published_by,
    )
    session.add(version)
    sequence.latest_version = number
    sequence.status = SequenceStatus.published
    sequence.updated_at = utcnow()
    await session.flush()
    return version


_CURRENT_VERSION = (col(SequenceVersion.sequence_id) == col(Sequence.id)) & (
    col(SequenceVersion.version) == col(Sequence.latest_version)
)
_HAS_GOAL = (
    col(Sequence.status) == SequenceStatus.published,
    col(SequenceVersion.definition).contains(bindparam("goal", type_=JSONB)),
)
# Built once: every tag a sequence applies asks them.
_WITH_GOAL = (
    select(Sequence, SequenceVersion).join(SequenceVersion, _CURRENT_VERSION).where(*_HAS_GOAL)
)
# Whether any published sequence has a goal on the event, for a statement to ask with others.
ANY_GOAL = exists(
    select(col(Sequence.id)).join(SequenceVersion, _CURRENT_VERSION).where(*_HAS_GOAL)
)


def goal_on(event: str) -> dict[str, Any]:
    """The `goal` parameter of ANY_GOAL for an event type."""
    return {"settings": {"goals": [{"event": event}]}}


async def published_with_goal(
    session: AsyncSession, event: str
) -> Seq[tuple[Sequence, SequenceVersion]]:
    """Published sequences whose current version has a goal on this event type."""
    rows = await session.execute(_WITH_GOAL, {"goal": goal_on(event)})
    return [(row[0], row[1]) for row in rows]


async def is_shared_with(session: AsyncSession, sequence_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await session.get(SequenceShare, (sequence_id, user_id)) is not None


async def share(session: AsyncSession, sequence_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Share with a user; False when it already was."""
    result = await session.execute(
        insert(SequenceShare)
        .values(sequence_id=sequence_id, user_id=user_id)
        .on_conflict_do_nothing()
        .returning(col(SequenceShare.user_id))
    )
    return result.first() is not None


async def shared_with(session: AsyncSession, sequence_id: uuid.UUID) -> Seq[uuid.UUID]:
    """The users the sequence is shared with, in the order it was shared."""
    query = (
        select(col(SequenceShare.user_id))
        .where(col(SequenceShare.sequence_id) == sequence_id)
        .order_by(col(SequenceShare.created_at))
    )
    return (await session.scalars(query)).all()


async def unshare(session: AsyncSession, sequence_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(SequenceShare)
        .where(col(SequenceShare.sequence_id) == sequence_id, col(SequenceShare.user_id) == user_id)
        .returning(col(SequenceShare.user_id))
    )
    return result.first() is not None


async def published_for(session: AsyncSession, shared_with: uuid.UUID | None) -> Seq[Sequence]:
    """Published sequences by name; only those shared with `shared_with`, when given."""
    query = select(Sequence).where(col(Sequence.status) == SequenceStatus.published)
    if shared_with is not None:
        query = query.join(SequenceShare, col(SequenceShare.sequence_id) == col(Sequence.id)).where(
            col(SequenceShare.user_id) == shared_with
        )
    return (await session.scalars(query.order_by(col(Sequence.name)))).all()


async def names_of(session: AsyncSession, ids: Seq[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(col(Sequence.id), col(Sequence.name)).where(col(Sequence.id).in_(set(ids)))
    )
    return {sequence_id: name for sequence_id, name in rows}
