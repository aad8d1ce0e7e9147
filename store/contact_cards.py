"""What a person working a to-do sees of its contact: company, owner, and the latest messages
and notes, for a whole list of contacts in a few statements."""

import uuid
from collections import defaultdict
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Company, Contact, Message, Note, User

# A note's first characters are enough for a card.
NOTE_SHOWN = 200


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

    messages = func.coalesce(
        func.nullif(col(Message.subject), ""), cast(col(Message.status), String)
    )
    for contact_id, at, what, detail in await _latest(
        session, Message, ids, latest, col(Message.channel), messages
    ):
        found[contact_id].messages.append(Recent(at, what, detail))
    for contact_id, at, what, detail in await _latest(
        session, Note, ids, latest, col(Note.kind), func.left(col(Note.body), NOTE_SHOWN)
    ):
        found[contact_id].notes.append(Recent(at, what, detail))
    return found


async def _latest(
    session: AsyncSession,
    table: type[Message] | type[Note],
    ids: list[uuid.UUID],
    latest: int,
    what: Any,
    detail: Any,
) -> list[Any]:
    """(contact, time, what, detail) of each contact's `latest` rows of the table, newest first;
    only the columns shown are read."""
    rank = func.row_number().over(
        partition_by=col(table.contact_id), order_by=col(table.created_at).desc()
    )
    ranked = (
        select(
            col(table.contact_id).label("contact_id"),
            col(table.created_at).label("at"),
            what.label("what"),
            detail.label("detail"),
            rank.label("n"),
        )
        .where(col(table.contact_id).in_(ids))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.contact_id, ranked.c.at, ranked.c.what, ranked.c.detail)
        .where(ranked.c.n <= latest)
        .order_by(ranked.c.at.desc())
    )
    return list(rows)
