"""What recipients did with a message: the first time of each, and each link's clicks.

The report's tallies follow these columns (see the engagement migration), so each is set once
and never cleared: the report counts messages opened, not opens.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Message, MessageClick, table_of

_MESSAGE = table_of(Message)
_CLICK = table_of(MessageClick)


class Fact(StrEnum):
    opened = "opened_at"
    machine_opened = "machine_opened_at"
    clicked = "clicked_at"
    replied = "replied_at"
    unsubscribed = "unsubscribed_at"


async def mark(session: AsyncSession, message_id: uuid.UUID, fact: Fact, at: datetime) -> bool:
    """Note that the recipient did this; False when it was noted before."""
    column = _MESSAGE.c[fact.value]
    changed = await session.execute(
        update(_MESSAGE)
        .where(_MESSAGE.c.id == message_id, column.is_(None))
        .values({column: at})
        .returning(_MESSAGE.c.id)
    )
    return changed.first() is not None


async def click(session: AsyncSession, message_id: uuid.UUID, url: str, at: datetime) -> None:
    """A person's click on one link: counted, and the message marked clicked."""
    await session.execute(
        insert(_CLICK)
        .values(message_id=message_id, url=url, clicks=1, first_at=at, last_at=at)
        .on_conflict_do_update(
            index_elements=["message_id", "url"],
            set_={"clicks": _CLICK.c.clicks + 1, "last_at": func.greatest(_CLICK.c.last_at, at)},
        )
    )
    await mark(session, message_id, Fact.clicked, at)
