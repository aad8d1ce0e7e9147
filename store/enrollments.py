"""The enrollment projection and event log, written by the workflow's activities, read by the API."""

import uuid
from collections.abc import Sequence as Seq
from typing import Any

from sqlalchemy import bindparam, column, delete, func, null, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import driver, sequences
from store.models import Enrollment, EnrollmentEvent, EnrollmentStatus, table_of


async def insert_enrollments(session: AsyncSession, started: list[Enrollment]) -> None:
    """Insert the rows the API knows at start, in one statement per batch; a workflow may have
    written its row first."""
    if started:
        await session.execute(
            insert(Enrollment).on_conflict_do_nothing(),
            [enrollment.model_dump() for enrollment in started],
        )


_ROW = table_of(Enrollment)
# Built once: statements made per call spend more time in SQLAlchemy than in PostgreSQL.
_INSERT_ROW = insert(_ROW).values(
    {column.name: bindparam(f"row_{column.name}", type_=column.type) for column in _ROW.c}
)
_UPSERT_ROW = _INSERT_ROW.on_conflict_do_update(
    index_elements=["id"],
    set_={
        key: _INSERT_ROW.excluded[key]
        for key in (
            "version",
            "status",
            "current_step",
            "outcome",
            "failure_reason",
            "revision",
            "updated_at",
            "ended_at",
            "next_due_at",
        )
    },
    where=_ROW.c.revision < _INSERT_ROW.excluded.revision,
)
_EVENT = table_of(EnrollmentEvent)
_EVENT_COLUMNS = ("effect_key", "kind", "track_id", "step_id", "detail", "occurred_at")
# One statement whatever the number of events, their rows passed as one JSON array: an
# executemany costs a round of the driver's work per row.
_EVENT_ROWS = (
    func.jsonb_to_recordset(bindparam("events", type_=JSONB))
    .table_valued(*(column(name, _EVENT.c[name].type) for name in _EVENT_COLUMNS))
    .render_derived(with_types=True)
)
_APPEND_EVENTS = (
    insert(_EVENT)
    .from_select(
        ["enrollment_id", *_EVENT_COLUMNS],
        select(
            bindparam("enrollment_id", type_=_EVENT.c.enrollment_id.type),
            *(_EVENT_ROWS.c[name] for name in _EVENT_COLUMNS),
        ),
    )
    .on_conflict_do_nothing(index_elements=["effect_key"])
)
# Both in one round trip: the row's upsert runs to completion as part of the statement, and the
# events' foreign key is checked at its end. Every step writes one, on the driver's connection.
_WRITE_PROJECTION = driver.Compiled(_APPEND_EVENTS.add_cte(_UPSERT_ROW.cte("row_written")))
_WRITE_ROW = driver.Compiled(_UPSERT_ROW)


async def write_projection(
    connection: driver.Connection, *, enrollment: dict[str, Any], events: Seq[dict[str, Any]]
) -> None:
    """Upsert the row unless a newer revision is already there, and append each event once.

    `enrollment` holds every column of the row; `events` theirs but the id and the enrollment's,
    with JSON values (timestamps in ISO 8601).
    """
    row = {f"row_{name}": value for name, value in enrollment.items()}
    if not events:
        await driver.rows(connection, _WRITE_ROW, row)
        return
    rows = {"enrollment_id": enrollment["id"], "events": list(events)}
    await driver.rows(connection, _WRITE_PROJECTION, {**row, **rows})


async def delete_enrollment(session: AsyncSession, enrollment_id: uuid.UUID) -> None:
    """The enrollment's row; its messages, to-dos, events and records go with it (foreign keys
    cascade), the contact and its tags stay."""
    await session.execute(delete(Enrollment).where(col(Enrollment.id) == enrollment_id))


async def get_enrollment(session: AsyncSession, enrollment_id: uuid.UUID) -> Enrollment | None:
    return await session.get(Enrollment, enrollment_id)


async def list_enrollments(
    session: AsyncSession,
    *,
    sequence_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = None,
    limit: int,
    offset: int,
) -> Seq[Enrollment]:
    query = select(Enrollment)
    if sequence_id is not None:
        query = query.where(col(Enrollment.sequence_id) == sequence_id)
    if contact_id is not None:
        query = query.where(col(Enrollment.contact_id) == contact_id)
    if status is not None:
        query = query.where(col(Enrollment.status) == status)
    rows = await session.scalars(
        query.order_by(col(Enrollment.created_at).desc(), col(Enrollment.id))
        .limit(limit)
        .offset(offset)
    )
    return rows.all()


async def active_enrollment(
    session: AsyncSession, sequence_id: uuid.UUID, contact_id: uuid.UUID
) -> Enrollment | None:
    """The contact's enrollment in the sequence that has not ended (active or stopped), if any."""
    return await session.scalar(
        select(Enrollment)
        .where(
            col(Enrollment.sequence_id) == sequence_id,
            col(Enrollment.contact_id) == contact_id,
            col(Enrollment.status).in_([EnrollmentStatus.active, EnrollmentStatus.stopped]),
        )
        .limit(1)
    )


async def contacts_ever_enrolled(
    session: AsyncSession, sequence_id: uuid.UUID, contact_ids: Seq[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(col(Enrollment.contact_id))
        .where(
            col(Enrollment.sequence_id) == sequence_id, col(Enrollment.contact_id).in_(contact_ids)
        )
        .distinct()
    )
    return set(rows)


async def events_of(session: AsyncSession, enrollment_id: uuid.UUID) -> Seq[EnrollmentEvent]:
    rows = await session.scalars(
        select(EnrollmentEvent)
        .where(col(EnrollmentEvent.enrollment_id) == enrollment_id)
        .order_by(col(EnrollmentEvent.occurred_at), col(EnrollmentEvent.id))
    )
    return rows.all()


RUNNING_OF_CONTACT = select(_ROW.c.workflow_id).where(
    _ROW.c.contact_id == bindparam("contact_id"),
    _ROW.c.status != EnrollmentStatus.completed,
)


# The running workflows, then one NULL if a goal may match: one round trip for every event.
_HEARERS = RUNNING_OF_CONTACT.union_all(select(null()).where(sequences.ANY_GOAL))


async def hearers(
    session: AsyncSession, contact_id: uuid.UUID, *, goals_on: str | None = None
) -> tuple[list[str], bool]:
    """The workflows of the contact's enrollments still running (active, stopped or failed)
    and, asked `goals_on` an event type, whether any published sequence has a goal on it."""
    if goals_on is None:
        return list(await session.scalars(RUNNING_OF_CONTACT, {"contact_id": contact_id})), False
    params = {"contact_id": contact_id, "goal": sequences.goal_on(goals_on)}
    rows = list(await session.scalars(_HEARERS, params))
    workflows = [row for row in rows if row is not None]
    return workflows, len(workflows) < len(rows)


async def running_workflows_of_colleagues(
    session: AsyncSession, contact_id: uuid.UUID
) -> list[str]:
    """The running workflows of the other contacts of the contact's company."""
    rows = await session.scalars(
        text(
            """SELECT e.workflow_id FROM contact me
            JOIN contact colleague ON colleague.company_id = me.company_id
                AND colleague.id <> me.id
            JOIN enrollment e ON e.contact_id = colleague.id AND e.status <> 'completed'
            WHERE me.id = :contact_id"""
        ),
        {"contact_id": contact_id},
    )
    return list(rows)


async def running_in_sequence(session: AsyncSession, sequence_id: uuid.UUID) -> Seq[Enrollment]:
    rows = await session.scalars(
        select(Enrollment).where(
            col(Enrollment.sequence_id) == sequence_id,
            col(Enrollment.status) != EnrollmentStatus.completed,
        )
    )
    return rows.all()
