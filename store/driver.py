"""Statements built with SQLAlchemy Core, compiled once, and run on psycopg's own connection.

On the path every step takes, the session and the per-statement work around a statement (its
execution context, parameters and result) cost several times what psycopg does to run it. The
statements on that path are still built with Core, once at import; only running them skips
the layers. Connections come from the engine's pool, and errors reach callers as the same
`DBAPIError`s the session raises, so the rules for refusals and retries hold unchanged.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import greenlet_spawn

from store.db import SessionMaker

_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]
Connection = psycopg.AsyncConnection[Any]


class Compiled:
    """A statement's SQL and how to turn the caller's values into its parameters."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql: str = compiled.string
        # Values bound when the statement was built, such as enum constants.
        self._bound = {name: value for name, value in compiled.params.items() if value is not None}
        self._processors = {
            name: processor
            for bind, name in compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
        }

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**self._bound, **values}
        for name, processor in self._processors.items():
            merged[name] = processor(merged[name])
        return merged


async def rows(
    connection: Connection, statement: Compiled, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    parameters = statement.parameters(values)
    try:
        cursor = await connection.execute(statement.sql, parameters)
        return await cursor.fetchall() if cursor.description is not None else []
    except psycopg.Error as error:
        raise DBAPIError.instance(statement.sql, parameters, error, psycopg.Error) from error


@asynccontextmanager
async def _pooled(sessionmaker: SessionMaker) -> AsyncIterator[Connection]:
    pooled = await sessionmaker.kw["bind"].raw_connection()
    connection: Connection = pooled.driver_connection
    try:
        yield connection
    finally:
        # A connection left broken is dropped rather than handed to the next caller.
        await greenlet_spawn(pooled.invalidate if connection.broken else pooled.close)


@asynccontextmanager
async def transaction(sessionmaker: SessionMaker) -> AsyncIterator[Connection]:
    """A connection in a transaction that commits when the block succeeds, and rolls back when
    it raises (`psycopg.Rollback` rolls back and is swallowed)."""
    async with _pooled(sessionmaker) as connection:
        try:
            async with connection.transaction():
                yield connection
        except psycopg.Error as error:
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error


@asynccontextmanager
async def autocommit(sessionmaker: SessionMaker) -> AsyncIterator[Connection]:
    """A connection whose every statement commits as it runs (see store.db.autocommit)."""
    async with _pooled(sessionmaker) as connection:
        await connection.set_autocommit(True)
        try:
            yield connection
        finally:
            if not connection.broken:
                await connection.set_autocommit(False)
