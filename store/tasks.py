"""Reps' to-do items: calls, tasks and manual emails."""

import uuid
from collections.abc import Sequence as Seq
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from sequences import Assignee, AssignTo
from store.models import (
    Company,
    Contact,
    Enrollment,
    Opportunity,
    Sequence,
    Task,
    TaskStatus,
)


async def create_task(session: AsyncSession, task: Task) -> Task:
    """Insert under the task's effect key; a retry returns the task already created."""
    await session.execute(
        insert(Task)
        .values(**task.model_dump())
        .on_conflict_do_nothing(index_elements=["effect_key"])
    )
    stored = await session.scalar(select(Task).where(col(Task.effect_key) == task.effect_key))
    assert stored is not None
    return stored


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.get(Task, task_id)


async def tasks_for_contact(
    session: AsyncSession, contact_id: uuid.UUID, *, assigned_to: uuid.UUID | None = None
) -> Seq[Task]:
    """The contact's to-dos, oldest first; only those assigned to `assigned_to`, when given."""
    query = select(Task).where(col(Task.contact_id) == contact_id)
    if assigned_to is not None:
        query = query.where(col(Task.assigned_to) == assigned_to)
    rows = await session.scalars(query.order_by(col(Task.created_at)))
    return rows.all()


async def resolve_assignee(
    session: AsyncSession, contact: Contact, assign_to: AssignTo, enrolled_by: uuid.UUID | None
) -> uuid.UUID | None:
    """The user a step's to-do or record goes to; the enrolling user when the role is empty."""
    assignee: uuid.UUID | None = None
    match assign_to.who:
        case Assignee.user:
            assignee = assign_to.user_id
        case Assignee.initiating_user:
            assignee = enrolled_by
        case Assignee.contact_owner:
            assignee = contact.owner_id
        case Assignee.company_owner:
            company = await session.get(Company, contact.company_id) if contact.company_id else None
            assignee = company.owner_id if company else None
    return assignee or enrolled_by


async def latest_open_opportunity(session: AsyncSession, contact_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(col(Opportunity.id))
        .where(col(Opportunity.contact_id) == contact_id, col(Opportunity.status) == "open")
        .order_by(col(Opportunity.created_at).desc())
        .limit(1)
    )


async def open_tasks_for(
    session: AsyncSession,
    *,
    assigned_to: uuid.UUID | None,
    kind: str | None,
    due_before: datetime | None,
    limit: int,
    offset: int,
) -> list[tuple[Task, Contact, Sequence | None]]:
    """Open to-dos with their contact and sequence, soonest due first; everyone's when
    assigned_to is None."""
    query = (
        select(Task, Contact, Sequence)
        .join(Contact, col(Contact.id) == col(Task.contact_id))
        .outerjoin(Enrollment, col(Enrollment.id) == col(Task.enrollment_id))
        .outerjoin(Sequence, col(Sequence.id) == col(Enrollment.sequence_id))
        .where(col(Task.status) == TaskStatus.open)
    )
    if assigned_to is not None:
        query = query.where(col(Task.assigned_to) == assigned_to)
    if kind is not None:
        query = query.where(col(Task.kind) == kind)
    if due_before is not None:
        query = query.where(col(Task.due_at) <= due_before)
    rows = await session.execute(
        query.order_by(col(Task.due_at).asc().nulls_last(), col(Task.id))
        .limit(limit)
        .offset(offset)
    )
    return [(task, contact, sequence) for task, contact, sequence in rows]


async def change_open_task(session: AsyncSession, task_id: uuid.UUID, **values: object) -> bool:
    """Set `values` (due_at, assigned_to) on the to-do if it is still open."""
    changed = await session.scalar(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.open)
        .values(**values)
        .returning(col(Task.id))
    )
    return changed is not None


async def close_task(
    session: AsyncSession,
    task_id: uuid.UUID,
    *,
    status: TaskStatus,
    result: str | None,
    notes: str,
    closed_by: uuid.UUID | None,
    at: datetime,
) -> bool:
    """Close the to-do if it is still open; False when someone closed it first."""
    closed = await session.scalar(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.open)
        .values(status=status, result=result, notes=notes, completed_by=closed_by, completed_at=at)
        .returning(col(Task.id))
    )
    return closed is not None


async def close_open_tasks(
    session: AsyncSession,
    enrollment_id: uuid.UUID,
    *,
    status: TaskStatus,
    result: str | None,
    closed_by: uuid.UUID | None,
    assigned_to: uuid.UUID | None,
    at: datetime,
) -> list[uuid.UUID]:
    """Close the enrollment's open to-dos (only those assigned to `assigned_to`, when given);
    the ids of those closed."""
    query = update(Task).where(
        col(Task.enrollment_id) == enrollment_id, col(Task.status) == TaskStatus.open
    )
    if assigned_to is not None:
        query = query.where(col(Task.assigned_to) == assigned_to)
    closed = await session.scalars(
        query.values(
            status=status, result=result, completed_by=closed_by, completed_at=at
        ).returning(col(Task.id))
    )
    return list(closed)
