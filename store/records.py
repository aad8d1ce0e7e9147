"""CRM records that process steps write: notes, appointments, opportunities, fulfilment lists,
orders, owners. Each insert carries the effect key, so a retry finds the record already there."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from store.models import FulfillmentList, Note, RoundRobin


async def insert_once(session: AsyncSession, record: SQLModel) -> None:
    """Insert a record that has an effect key; nothing happens if that key is already stored."""
    table = type(record)
    await session.execute(
        insert(table)
        .values(**record.model_dump())
        .on_conflict_do_nothing(index_elements=["effect_key"])
    )


async def fulfillment_list_id(session: AsyncSession, name: str) -> uuid.UUID:
    await session.execute(
        insert(FulfillmentList)
        .values(id=uuid.uuid4(), name=name)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    list_id = await session.scalar(
        select(col(FulfillmentList.id)).where(col(FulfillmentList.name) == name)
    )
    assert list_id is not None
    return list_id


async def next_turn(session: AsyncSession, key: str) -> int:
    """Take the next turn of a round robin (0, 1, 2, ...), safely under concurrent enrollments."""
    statement = insert(RoundRobin).values(key=key, turns=1)
    turns = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"turns": RoundRobin.turns + 1},
        ).returning(col(RoundRobin.turns))
    )
    assert turns is not None
    return int(turns) - 1


def as_json(value: Any) -> Any:
    """Decimals and such as JSON-friendly values for JSONB columns."""
    return str(value) if not isinstance(value, str | int | float | bool | type(None)) else value


async def notes_for_contact(session: AsyncSession, contact_id: uuid.UUID) -> list[Note]:
    """The contact's notes, oldest first."""
    rows = await session.scalars(
        select(Note).where(col(Note.contact_id) == contact_id).order_by(col(Note.created_at))
    )
    return list(rows)
