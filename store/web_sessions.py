"""People signed in to the web app: passwords, sessions and one-time sign-in links. Tokens are
kept only as hashes (store.users.hash_key), like API keys."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import SignInLink, User, WebSession


async def user_with_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def set_password_hash(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(User).where(col(User.id) == user_id).values(password_hash=password_hash)
    )


async def open_session(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    token_hash: str,
    csrf_token: str,
    expires_at: datetime,
) -> None:
    session.add(
        WebSession(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, expires_at=expires_at
        )
    )
    await session.flush()


async def signed_in(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[User, WebSession] | None:
    """The user of an unexpired session, and the session."""
    row = (
        await session.execute(
            select(User, WebSession)
            .join(WebSession, col(WebSession.user_id) == col(User.id))
            .where(col(WebSession.token_hash) == token_hash, col(WebSession.expires_at) > now)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def close_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(WebSession).where(col(WebSession.token_hash) == token_hash))


async def close_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))


async def add_link(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, expires_at: datetime
) -> None:
    session.add(SignInLink(token_hash=token_hash, user_id=user_id, expires_at=expires_at))
    await session.flush()


async def use_link(session: AsyncSession, token_hash: str, now: datetime) -> uuid.UUID | None:
    """The user a one-time link signs in, marking it used; None when unknown, used or expired.
    One statement, so two uses at once cannot both succeed."""
    user_id = await session.scalar(
        update(SignInLink)
        .where(
            col(SignInLink.token_hash) == token_hash,
            col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(SignInLink.user_id))
    )
    return user_id


async def open_links_of(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """How many of the user's sign-in links could still be used."""
    count = await session.scalar(
        select(func.count())
        .select_from(SignInLink)
        .where(
            col(SignInLink.user_id) == user_id,
            col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now,
        )
    )
    return int(count or 0)
