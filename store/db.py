"""Engines and sessions. Nothing connects at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionMaker = async_sessionmaker[AsyncSession]


class Refusal(NamedTuple):
    """What PostgreSQL said when it refused a statement: its SQLSTATE, message and detail."""

    sqlstate: str
    message: str
    detail: str

    @classmethod
    def of(cls, error: DBAPIError) -> "Refusal":
        diag = getattr(error.orig, "diag", None)
        return cls(
            getattr(error.orig, "sqlstate", None) or "",
            (getattr(diag, "message_primary", None) or str(error.orig)).strip(),
            (getattr(diag, "message_detail", None) or "").strip(),
        )


def async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs too and pin them to the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


POOL_SIZE = 10
POOL_OVERFLOW = 10
# The most connections one process's engine holds at once.
POOL_CONNECTIONS = POOL_SIZE + POOL_OVERFLOW


def create_engine(url: str, *, pool_size: int = POOL_SIZE, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` tests each connection with a round trip before use, so that one PostgreSQL
    dropped fails no request; callers that retry anyway (activities) can do without."""
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=POOL_OVERFLOW, pool_pre_ping=pre_ping
    )


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    async with sessionmaker() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit(sessionmaker: SessionMaker) -> AsyncIterator[AsyncConnection]:
    """A bare connection whose every statement commits as it runs, for one statement that needs
    no ORM objects: PostgreSQL makes a lone statement atomic, so BEGIN and COMMIT around it would
    only add two round trips, and the session's bookkeeping costs more than such a statement."""
    engine: AsyncEngine = sessionmaker.kw["bind"]
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")
