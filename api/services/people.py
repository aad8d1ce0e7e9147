"""People signing in to the web app: passwords (argon2id), sessions and one-time links."""

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from api.errors import Conflict, Invalid
from api.roles import PEOPLE
from store import users, web_sessions
from store.models import Role, User, WebSession, utcnow
from store.users import hash_key

PASSWORD_LENGTH = range(10, 201)
SESSION_LIFETIME = timedelta(days=7)
LINK_LIFETIME = timedelta(minutes=30)
INVITATION_LIFETIME = timedelta(days=7)

# argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB, 3
# passes). Hashing costs memory and a core for tens of milliseconds, so only as many run at
# once as there are cores, off the event loop: a flood of sign-ins waits rather than starving
# the process.
_HASHER = PasswordHasher()
_HASHING = asyncio.Semaphore(2)
Result = TypeVar("Result")


@cache
def _no_ones_hash() -> str:
    # An unknown email is checked against this, so it costs as long as a wrong password.
    return _HASHER.hash(secrets.token_urlsafe(16))


async def _in_pool(function: Callable[..., Result], *args: str) -> Result:
    async with _HASHING:
        return await run_in_threadpool(function, *args)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    """The hash to keep of a new password, which must have no problem (password_problem)."""
    problem = password_problem(password)
    if problem:
        raise Invalid(f"password: {problem}")
    return _HASHER.hash(password)


def password_problem(password: str) -> str | None:
    if len(password) not in PASSWORD_LENGTH:
        return (
            f"a password has {PASSWORD_LENGTH.start} to {PASSWORD_LENGTH.stop - 1} characters; "
            f"this one has {len(password)}"
        )
    return None


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Set the user's password; every session it had is signed out."""
    hashed = await _in_pool(hash_password, password)
    await web_sessions.set_password_hash(session, user.id, hashed)
    await web_sessions.close_sessions_of(session, user.id)


async def sign_in_with_password(session: AsyncSession, email: str, password: str) -> User | None:
    """The user, if the password is theirs."""
    if len(password) >= PASSWORD_LENGTH.stop:
        return None
    user = await web_sessions.user_with_email(session, email)
    hashed = user.password_hash if user else None
    matches = await _in_pool(_matches, hashed or _no_ones_hash(), password)
    if user is None or hashed is None or not matches:
        return None
    if _HASHER.check_needs_rehash(hashed):
        await web_sessions.set_password_hash(
            session, user.id, await _in_pool(_HASHER.hash, password)
        )
    return user


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str
    expires_at: datetime


async def open_session(session: AsyncSession, user: User) -> OpenedSession:
    opened = OpenedSession(
        token=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    await web_sessions.open_session(
        session,
        user_id=user.id,
        token_hash=hash_key(opened.token),
        csrf_token=opened.csrf_token,
        expires_at=opened.expires_at,
    )
    return opened


async def signed_in(session: AsyncSession, token: str) -> tuple[User, WebSession] | None:
    return await web_sessions.signed_in(session, hash_key(token), utcnow())


async def sign_out(session: AsyncSession, token: str) -> None:
    await web_sessions.close_session(session, hash_key(token))


# Unused links a person may have at once: asking again and again sends no more mail.
OPEN_LINKS = 3


async def link_for(session: AsyncSession, email: str) -> tuple[User, str] | None:
    """A one-time sign-in token for the person with this email, unless there is none or they
    already have OPEN_LINKS unused ones."""
    user = await web_sessions.user_with_email(session, email)
    if user is None or user.role not in PEOPLE:
        return None
    if await web_sessions.open_links_of(session, user.id, utcnow()) >= OPEN_LINKS:
        return None
    return user, await issue_link(session, user, LINK_LIFETIME)


async def invite(session: AsyncSession, *, email: str, name: str, role: Role) -> tuple[User, str]:
    """A new person and the token of their invitation."""
    if role not in PEOPLE:
        raise Invalid(
            f"role: invite people ({', '.join(r.value for r in PEOPLE)}); "
            "integrations get an API key instead"
        )
    if await web_sessions.user_with_email(session, email) is not None:
        raise Conflict(f"{email} already has an account")
    user = await users.create_user(session, email=email, role=role, name=name)
    return user, await issue_link(session, user, INVITATION_LIFETIME)


async def issue_link(session: AsyncSession, user: User, lifetime: timedelta) -> str:
    """A one-time sign-in token for the user, to send by email."""
    token = secrets.token_urlsafe(32)
    await web_sessions.add_link(
        session, user_id=user.id, token_hash=hash_key(token), expires_at=utcnow() + lifetime
    )
    return token


async def sign_in_with_link(session: AsyncSession, token: str) -> User | None:
    user_id = await web_sessions.use_link(session, hash_key(token), utcnow())
    return await session.get(User, user_id) if user_id else None
