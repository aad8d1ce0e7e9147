"""Which reps may enroll contacts into a sequence. The API's routes and the web app's sharing
page both go through these."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, Invalid, NotFound
from store import sequences, users


async def share(session: AsyncSession, sequence_id: uuid.UUID, user_id: uuid.UUID) -> None:
    if await users.get_user(session, user_id) is None:
        raise Invalid(f"user_id: no user {user_id}")
    if not await sequences.share(session, sequence_id, user_id):
        raise Conflict(f"sequence {sequence_id} is already shared with user {user_id}")


async def unshare(session: AsyncSession, sequence_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Their running enrollments go on."""
    if not await sequences.unshare(session, sequence_id, user_id):
        raise NotFound(f"sequence {sequence_id} is not shared with user {user_id}")
