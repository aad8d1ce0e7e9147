"""People's to-dos: whose they are, who may see and complete them. The API's routes and the
web app's pages both go through these."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Conflict, Forbidden, Invalid, NotFound
from api.roles import DESIGNERS, OPERATORS, PEOPLE, check_role
from api.services.enrollments import record_task_outcome
from store import tasks, users
from store.models import Contact, Role, Sequence, Task, TaskStatus, User, utcnow
from workflows.state import TaskOutcome

# Who may see everyone's to-dos: those in charge, who also design.
SUPERVISORS = DESIGNERS


def may_act_on(user: User, task: Task) -> bool:
    """Its assignee, managers and admins, and integrations completing it from a CRM."""
    return user.role != Role.rep or task.assigned_to == user.id


def only_assigned_to(user: User) -> uuid.UUID | None:
    """Whose to-dos the user sees in a contact's: a rep only their own (may_act_on's rule)."""
    return user.id if user.role == Role.rep else None


async def task_for(session: AsyncSession, user: User, task_id: uuid.UUID) -> Task:
    """The to-do, if the user may act on it."""
    task = await tasks.get_task(session, task_id)
    if task is None:
        raise NotFound.of("task", task_id)
    if not may_act_on(user, task):
        raise Forbidden(f"task {task_id} is assigned to someone else")
    return task


async def open_todo(
    session: AsyncSession,
    user: User,
    *,
    everyone: bool = False,
    kind: str | None = None,
    due_before: datetime | None = None,
    limit: int,
    offset: int = 0,
) -> list[tuple[Task, Contact, Sequence | None]]:
    """The user's open to-dos (everyone's, for a supervisor who asks), soonest due first."""
    if everyone and user.role not in SUPERVISORS:
        raise Forbidden("only managers and admins can see everyone's to-do items")
    if due_before is not None and due_before.tzinfo is None:
        raise Invalid("due_before needs a timezone, e.g. 2026-01-31T17:00:00Z")
    return await tasks.open_tasks_for(
        session,
        assigned_to=None if everyone else user.id,
        kind=kind,
        due_before=due_before,
        limit=limit,
        offset=offset,
    )


async def _open_task(session: AsyncSession, user: User, task_id: uuid.UUID) -> Task:
    task = await task_for(session, user, task_id)
    if task.status != TaskStatus.open:
        raise Conflict(f"task {task_id} is already {task.status.value}")
    return task


async def _changed(session: AsyncSession, task: Task, **values: object) -> Task:
    if not await tasks.change_open_task(session, task.id, **values):
        raise Conflict(f"task {task.id} was closed meanwhile")
    await session.refresh(task)
    return task


async def snooze(session: AsyncSession, user: User, task_id: uuid.UUID, until: datetime) -> Task:
    """Put the to-do off until a later time; it leaves the lists of what is due before then.
    The workflow keeps no due time, so the to-do's row is all that changes."""
    task = await _open_task(session, user, task_id)
    if until <= utcnow():
        raise Invalid(f"until: {until.isoformat()} has passed; snooze to a later time")
    return await _changed(session, task, due_at=until)


async def reschedule(
    session: AsyncSession, user: User, task_id: uuid.UUID, due_at: datetime
) -> Task:
    """Give the to-do a new due time, earlier or later."""
    task = await _open_task(session, user, task_id)
    return await _changed(session, task, due_at=due_at)


async def reassign(session: AsyncSession, user: User, task_id: uuid.UUID, to: uuid.UUID) -> Task:
    """Managers and admins (and integrations, for a CRM) hand a to-do to a colleague."""
    check_role(user, OPERATORS)
    task = await _open_task(session, user, task_id)
    colleague = await users.get_user(session, to)
    if colleague is None or colleague.role not in PEOPLE:
        raise Invalid(f"user_id: no person {to} to hand the to-do to")
    return await _changed(session, task, assigned_to=colleague.id)


async def skip(
    session: AsyncSession, temporal: Client, user: User, task_id: uuid.UUID, *, notes: str
) -> Task:
    """Pass over the to-do: its sequence goes on to the next step, with no result."""
    return await _close(session, temporal, user, task_id, result=None, notes=notes)


async def complete(
    session: AsyncSession,
    temporal: Client,
    user: User,
    task_id: uuid.UUID,
    *,
    result: str,
    notes: str,
) -> Task:
    """Complete a to-do with one of its results; its sequence continues or ends by it."""
    return await _close(session, temporal, user, task_id, result=result, notes=notes)


async def _close(
    session: AsyncSession,
    temporal: Client,
    user: User,
    task_id: uuid.UUID,
    *,
    result: str | None,
    notes: str,
) -> Task:
    """Completed with `result`, or skipped when it is None."""
    task = await _open_task(session, user, task_id)
    if result is not None and result not in task.allowed_results:
        raise Invalid(
            f"result: {result!r} is not a result of a {task.kind}; "
            f"use one of {', '.join(task.allowed_results)}"
        )
    # The run that waits for the to-do records the result itself (a stopped one acts on it when
    # reactivated); one that stands alone, or outlived its enrollment, is recorded here.
    outcome = TaskOutcome(
        task_id=str(task.id),
        enrollment_id=str(task.enrollment_id),
        result=result or "",
        notes=notes,
        completed_by=str(user.id),
        skipped=result is None,
    )
    if not await record_task_outcome(temporal, task, outcome):
        closed = await tasks.close_task(
            session,
            task.id,
            status=TaskStatus.skipped if result is None else TaskStatus.completed,
            result=result,
            notes=notes,
            closed_by=user.id,
            at=utcnow(),
        )
        if not closed:
            raise Conflict(f"task {task_id} is already closed")
    await session.refresh(task)
    return task
