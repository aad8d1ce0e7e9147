import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, Operator, SessionDep, TemporalDep
from api.errors import Invalid, NotFound, problems
from api.schemas.common import Instant, Limit, Offset
from api.schemas.tasks import (
    OutcomeBody,
    ReassignBody,
    RescheduleBody,
    SkipBody,
    SnoozeBody,
    TaskRead,
    TodoContact,
    TodoItem,
    TodoKind,
    TodoPage,
    TodoSequence,
)
from api.services import todo as todo_service
from store import contacts, tasks

router = APIRouter(tags=["tasks"], responses=problems(401, 403, 404, 409, 422))


@router.get("/todo")
async def todo(
    session: SessionDep,
    user: CurrentUser,
    kind: Annotated[TodoKind | None, Query()] = None,
    due_before: Annotated[Instant | None, Query(description="Only items due by then.")] = None,
    everyone: Annotated[bool, Query(description="Managers and admins: all users' items.")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TodoPage:
    """The caller's open calls, tasks and manual emails, soonest due first."""
    rows = await todo_service.open_todo(
        session,
        user,
        everyone=everyone,
        kind=kind,
        due_before=due_before,
        limit=limit,
        offset=offset,
    )
    items = [
        TodoItem.model_validate(
            {
                **task.model_dump(),
                "contact": TodoContact(
                    id=contact.id,
                    name=contact.display_name,
                    email=contact.email,
                    phone=contact.phone,
                ),
                "sequence": TodoSequence(id=sequence.id, name=sequence.name) if sequence else None,
            }
        )
        for task, contact, sequence in rows
    ]
    return TodoPage(items=items, limit=limit, offset=offset)


@router.get("/tasks/{task_id}")
async def get_task(task_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> TaskRead:
    """One to-do item."""
    task = await todo_service.task_for(session, user, task_id)
    return TaskRead.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/outcome")
async def report_outcome(
    task_id: uuid.UUID,
    body: OutcomeBody,
    session: SessionDep,
    temporal: TemporalDep,
    user: CurrentUser,
) -> TaskRead:
    """Complete a to-do with its result; the sequence continues or ends accordingly."""
    task = await todo_service.complete(
        session, temporal, user, task_id, result=body.result, notes=body.notes
    )
    return TaskRead.model_validate(task, from_attributes=True)


def _aware(name: str, at: datetime) -> None:
    if at.tzinfo is None:
        raise Invalid(f"{name} needs a timezone, e.g. 2026-01-31T17:00:00Z")


@router.post("/tasks/{task_id}/snooze")
async def snooze(
    task_id: uuid.UUID, body: SnoozeBody, session: SessionDep, user: CurrentUser
) -> TaskRead:
    """Put an open to-do off until a later time."""
    _aware("until", body.until)
    task = await todo_service.snooze(session, user, task_id, body.until)
    return TaskRead.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/reschedule")
async def reschedule(
    task_id: uuid.UUID, body: RescheduleBody, session: SessionDep, user: CurrentUser
) -> TaskRead:
    """Give an open to-do a new due time."""
    _aware("due_at", body.due_at)
    task = await todo_service.reschedule(session, user, task_id, body.due_at)
    return TaskRead.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/reassign")
async def reassign(
    task_id: uuid.UUID, body: ReassignBody, session: SessionDep, user: Operator
) -> TaskRead:
    """Managers and admins (integrations too): hand an open to-do to a colleague."""
    task = await todo_service.reassign(session, user, task_id, body.user_id)
    return TaskRead.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/skip")
async def skip(
    task_id: uuid.UUID,
    body: SkipBody,
    session: SessionDep,
    temporal: TemporalDep,
    user: CurrentUser,
) -> TaskRead:
    """Pass over an open to-do: its sequence goes on to the next step, with no result."""
    task = await todo_service.skip(session, temporal, user, task_id, notes=body.notes)
    return TaskRead.model_validate(task, from_attributes=True)


@router.get("/contacts/{contact_id}/tasks")
async def contact_tasks(
    contact_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[TaskRead]:
    """The contact's to-do items the caller may see (a rep: their own), oldest first."""
    if await contacts.get_contact(session, contact_id) is None:
        raise NotFound.of("contact", contact_id)
    only_for = todo_service.only_assigned_to(user)
    return [
        TaskRead.model_validate(t, from_attributes=True)
        for t in await tasks.tasks_for_contact(session, contact_id, assigned_to=only_for)
    ]
