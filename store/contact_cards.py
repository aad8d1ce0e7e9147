"""What a person working a to-do sees of its contact: company, owner, and the latest messages
and notes, for a whole list of contacts in a few statements."""

import uuid
from collections import defaultdict
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Company, Contact, Message, Note, User


@dataclass(frozen=True)
class Recent:
    at: datetime
    what: str
    detail: str


@dataclass
class Card:
    company: str | None = None
    owner: str | None = None
    messages: list[Recent] = field(default_factory=list)
    notes: list[Recent] = field(default_factory=list)


async def cards(
    session: AsyncSession, contact_ids: Seq[uuid.UUID], latest: int = 3
) -> dict[uuid.UUID, Card]:
    """Each contact's card, with its `latest` messages and notes, newest first."""
    found: dict[uuid.UUID, Card] = defaultdict(Card)
    if not contact_ids:
        return found
    ids = list(set(contact_ids))
    people = await session.execute(
        select(col(Contact.id), col(Company.name), col(User.name), col(User.email))
        .outerjoin(Company, col(Company.id) == col(Contact.company_id))
        .outerjoin(User, col(User.id) == col(Contact.owner_id))
        .where(col(Contact.id).in_(ids))
    )
    for contact_id, company, owner_name, owner_email in people:
        found[contact_id] = Card(company=company, owner=owner_name or owner_email)

    for message in await _latest(session, Message, ids, latest):
        found[message.contact_id].messages.append(
            Recent(message.created_at, message.channel, message.subject or message.status.value)
        )
    for note in await _latest(session, Note, ids, latest):
        found[note.contact_id].notes.append(Recent(note.created_at, note.kind, note.body))
    return found


Row = TypeVar("Row", Message, Note)


async def _latest(
    session: AsyncSession, table: type[Row], ids: list[uuid.UUID], latest: int
) -> Seq[Row]:
    """Each contact's `latest` rows of the table, newest first."""
    rank = func.row_number().over(
        partition_by=col(table.contact_id), order_by=col(table.created_at).desc()
    )
    ranked = (
        select(col(table.id).label("id"), rank.label("n"))
        .where(col(table.contact_id).in_(ids))
        .subquery()
    )
    rows = await session.scalars(
        select(table)
        .join(ranked, col(table.id) == ranked.c.id)
        .where(ranked.c.n <= latest)
        .order_by(col(table.created_at).desc())
    )
    return rows.all()
