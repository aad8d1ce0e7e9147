"""Users and their API keys. Only a hash of each key is stored."""

import hashlib
import secrets
import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.db import create_engine, create_sessionmaker, transaction
from store.models import ApiKey, Role, User, WebSession

KEY_PREFIX = "csk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_user(session: AsyncSession, *, email: str, role: Role, name: str = "") -> User:
    user = User(email=email, role=role, name=name)
    session.add(user)
    await session.flush()
    return user


async def issue_api_key(session: AsyncSession, user_id: uuid.UUID) -> str:
    """Create a key and return it in plain text: the only time anyone sees it."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(user_id=user_id, key_hash=hash_key(key), prefix=key[:12]))
    await session.flush()
    return key


async def user_for_key(session: AsyncSession, key: str) -> User | None:
    return await session.scalar(
        select(User)
        .join(ApiKey, col(ApiKey.user_id) == User.id)
        .where(col(ApiKey.key_hash) == hash_key(key), col(ApiKey.revoked_at).is_(None))
    )


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User)) or 0


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def create_admin(
    database_url: str,
    *,
    email: str,
    name: str = "",
    only_if_no_users: bool = False,
    password_hash: str | None = None,
) -> str | None:
    """Create an admin and return a new API key; None when `only_if_no_users` and users exist."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            if only_if_no_users and await count_users(session) > 0:
                return None
            if await email_taken(session, email):
                raise ValueError(f"a user with email {email} already exists")
            admin = await create_user(session, email=email, role=Role.admin, name=name)
            admin.password_hash = password_hash
            return await issue_api_key(session, admin.id)
    finally:
        await engine.dispose()


async def replace_password_hash(database_url: str, *, email: str, password_hash: str) -> bool:
    """Set the password of the user with this email, signing out its sessions; False if none."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await session.scalar(select(User).where(col(User.email) == email))
            if user is None:
                return False
            user.password_hash = password_hash
            await session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))
            return True
    finally:
        await engine.dispose()


async def unknown_user_ids(session: AsyncSession, user_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not user_ids:
        return set()
    found = await session.scalars(select(col(User.id)).where(col(User.id).in_(user_ids)))
    return user_ids - set(found)


async def list_users(session: AsyncSession) -> Seq[User]:
    return (await session.scalars(select(User).order_by(col(User.created_at)))).all()


async def keys_of(session: AsyncSession, user_id: uuid.UUID) -> Seq[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(col(ApiKey.user_id) == user_id).order_by(col(ApiKey.created_at))
    )
    return rows.all()


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id, with_for_update=True)


async def email_taken(session: AsyncSession, email: str) -> bool:
    return await session.scalar(select(User).where(col(User.email) == email)) is not None
