"""Fulfilment lists (letters to post, kits to send): exported for whoever sends them, and each
entry marked sent. The API's routes and the web app's pages both go through these."""

import csv
import io
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound
from store import fulfillment
from store.models import FulfillmentList, utcnow

COLUMNS = [
    "entry_id", "contact_id", "name", "email",
    "line1", "line2", "city", "region", "postal_code", "country",
    "item", "letter", "added_at", "fulfilled_at",
]  # fmt: skip


async def list_or_404(session: AsyncSession, list_id: uuid.UUID) -> FulfillmentList:
    found = await session.get(FulfillmentList, list_id)
    if found is None:
        raise NotFound.of("fulfillment list", list_id)
    return found


async def as_csv(session: AsyncSession, list_id: uuid.UUID) -> tuple[str, str]:
    """The list's file name and CSV: one row per entry, with the mailing address as it was
    when added."""
    found = await list_or_404(session, list_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for entry, contact, letter in await fulfillment.entries(session, list_id):
        writer.writerow(
            {
                "entry_id": entry.id,
                "contact_id": contact.id,
                "name": contact.display_name,
                "email": contact.email or "",
                **{k: entry.mailing_address.get(k, "") for k in COLUMNS[4:10]},
                "item": entry.item,
                "letter": letter,
                "added_at": entry.created_at.isoformat(),
                "fulfilled_at": entry.fulfilled_at.isoformat() if entry.fulfilled_at else "",
            }
        )
    return f"{found.name}.csv".replace('"', ""), out.getvalue()


async def fulfill(session: AsyncSession, list_id: uuid.UUID, entry_id: uuid.UUID) -> datetime:
    """Mark an entry sent (a letter's message with it); when it was."""
    entry = await fulfillment.entry_for_update(session, entry_id)
    if entry is None or entry.list_id != list_id:
        raise NotFound(f"fulfillment list {list_id} has no entry {entry_id}")
    if entry.fulfilled_at is not None:
        raise Conflict(f"entry {entry_id} was fulfilled at {entry.fulfilled_at.isoformat()}")
    entry.fulfilled_at = fulfilled = utcnow()
    await fulfillment.mark_letter_sent(session, entry)
    await session.flush()
    return fulfilled
