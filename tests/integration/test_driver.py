"""Statements run on psycopg's own connection mean what they would through the session: the
same parameters, the same errors, and a transaction that commits or rolls back whole."""

import uuid

import psycopg
import pytest
from sqlalchemy import Integer, String, bindparam, cast, literal, select
from sqlalchemy.exc import DataError, DBAPIError
from sqlmodel import col

from activities.permanent import permanent_reason
from store import driver
from store.db import SessionMaker, transaction
from store.models import Contact, EnrollmentStatus, Tag, table_of

_STATUS_AND_ID = driver.Compiled(
    select(literal(EnrollmentStatus.stopped), bindparam("id", type_=table_of(Contact).c.id.type))
)


async def test_values_bound_when_built_and_given_at_the_call_both_arrive(
    sessionmaker: SessionMaker,
) -> None:
    given = uuid.uuid4()
    async with driver.autocommit(sessionmaker) as connection:
        rows = await driver.rows(connection, _STATUS_AND_ID, {"id": given})
    assert rows == [("stopped", given)]


async def test_a_refused_value_raises_what_the_session_would(sessionmaker: SessionMaker) -> None:
    as_number = driver.Compiled(select(cast(bindparam("n", type_=String()), Integer)))
    with pytest.raises(DataError) as refused:
        async with driver.transaction(sessionmaker) as connection:
            await driver.rows(connection, as_number, {"n": "not a number"})
    assert isinstance(refused.value, DBAPIError)
    assert permanent_reason(refused.value) is not None
    # The connection went back to the pool fit for the next caller.
    async with driver.autocommit(sessionmaker) as connection:
        assert await driver.rows(connection, _STATUS_AND_ID, {"id": None}) == [("stopped", None)]


async def test_a_rollback_or_an_error_leaves_nothing_and_a_clean_block_commits(
    sessionmaker: SessionMaker,
) -> None:
    names = [f"driver-{uuid.uuid4()}" for _ in range(3)]
    insert = driver.Compiled(
        table_of(Tag).insert().values(id=bindparam("id"), name=bindparam("name"))
    )

    async def add(name: str) -> None:
        async with driver.transaction(sessionmaker) as connection:
            await driver.rows(connection, insert, {"id": uuid.uuid4(), "name": name})
            if name == names[0]:
                raise psycopg.Rollback()
            if name == names[1]:
                raise RuntimeError("the block failed")

    await add(names[0])
    with pytest.raises(RuntimeError):
        await add(names[1])
    await add(names[2])
    async with transaction(sessionmaker) as session:
        kept = set(await session.scalars(select(col(Tag.name)).where(col(Tag.name).in_(names))))
    assert kept == {names[2]}
