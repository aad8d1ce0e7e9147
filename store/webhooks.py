"""What providers tell us, once: their event ids, so a delivery repeated or replayed is ignored."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import WebhookReceipt


async def first_receipt(session: AsyncSession, source: str, event_id: str) -> bool:
    """Record the event id; False when it was received before."""
    recorded = await session.scalar(
        insert(WebhookReceipt)
        .values(source=source, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(col(WebhookReceipt.event_id))
    )
    return recorded is not None
