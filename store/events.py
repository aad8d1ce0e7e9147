"""What contacts did, and whether the transaction that recorded it committed."""

from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from store.models import ContactEvent


class TransactionOutcome(StrEnum):
    committed = "committed"
    aborted = "aborted"
    open = "in progress"


async def add_event(session: AsyncSession, event: ContactEvent) -> None:
    await session.execute(insert(ContactEvent).values(**event.model_dump()))


async def transaction_id(session: AsyncSession) -> int:
    """The id of the session's transaction (PostgreSQL assigns one if it has none yet), by which
    another connection can later learn whether it committed."""
    return int(await session.scalar(text("select pg_current_xact_id()::text::bigint")))


async def transaction_outcome(connection: AsyncConnection, transaction: int) -> TransactionOutcome:
    """Whether the transaction committed, was rolled back, or is still open. PostgreSQL forgets
    the outcome of transactions hundreds of millions old; such a one counts as committed, since
    acting on an event that was refused is the smaller mistake than losing one that was kept."""
    status = await connection.scalar(
        text("select pg_xact_status(cast(cast(:xid as text) as xid8))"), {"xid": transaction}
    )
    return TransactionOutcome(status) if status else TransactionOutcome.committed
