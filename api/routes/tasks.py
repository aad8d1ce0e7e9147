import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep, TemporalDep
from api.errors import Conflict, Forbidden, Invalid, NotFound, problems
from api.schemas.common import Instant, Limit, Offset
from api.schemas.tasks import (
    OutcomeBody,
    TaskRead,
    TodoContact,
    TodoItem,
    TodoKind,
    TodoPage,
    TodoSequence,
)
from api.services.enrollments import record_task_outcome
from store import contacts, tasks
from store.models import Role, Task, TaskStatus, User, utcnow
from workflows.state import TaskOutcome

router = APIRouter(tags=["tasks"], responses=problems(401, 403, 404, 409, 422))


def _may_act_on(user: User, task: Task) -> bool:
    """Its assignee, managers and admins, and integrations completing it from a CRM."""
    return user.role != Role.rep or task.assigned_to == user.id


async def _task_or_404(session: SessionDep, task_id: uuid.UUID) -> Task:
    task = await tasks.get_task(session, task_id)
    if task is None:
        raise NotFound.of("task", task_id)
    return task


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
    if everyone and user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins can see everyone's to-do items")
    if due_before is not None and due_before.tzinfo is None:
        raise Invalid("due_before needs a timezone, e.g. 2026-01-31T17:00:00Z")
    rows = await tasks.open_tasks_for(
        session,
        assigned_to=None if everyone else user.id,
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
    task = await _task_or_404(session, task_id)
    if not _may_act_on(user, task):
        raise Forbidden(f"task {task_id} is assigned to someone else")
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
    task = await _task_or_404(session, task_id)
    if not _may_act_on(user, task):
        raise Forbidden(f"task {task_id} is assigned to someone else")
    if task.status != TaskStatus.open:
        raise Conflict(f"task {task_id} is already {task.status.value}")
    if body.result not in task.allowed_results:
        raise Invalid(
            f"result: {body.result!r} is not a result of a {task.kind}; "
            f"use one of {', '.join(task.allowed_results)}"
        )
    # The run that waits for the to-do records the result itself (a stopped one acts on it when
    # reactivated); one that stands alone, or outlived its enrollment, is recorded here.
    outcome = TaskOutcome(
        task_id=str(task.id),
        enrollment_id=str(task.enrollment_id),
        result=body.result,
        notes=body.notes,
        completed_by=str(user.id),
    )
    if not await record_task_outcome(temporal, task, outcome):
        closed = await tasks.close_task(
            session,
            task.id,
            status=TaskStatus.completed,
            result=body.result,
            notes=body.notes,
            closed_by=user.id,
            at=utcnow(),
        )
        if not closed:
            raise Conflict(f"task {task_id} is already closed")
    await session.refresh(task)
    return TaskRead.model_validate(task, from_attributes=True)


@router.get("/contacts/{contact_id}/tasks")
async def contact_tasks(
    contact_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[TaskRead]:
    """The contact's to-do items the caller may see (a rep: their own), oldest first."""
    if await contacts.get_contact(session, contact_id) is None:
        raise NotFound.of("contact", contact_id)
    # The rule of GET /tasks/{id} (_may_act_on), as a filter.
    only_for = user.id if user.role == Role.rep else None
    return [
        TaskRead.model_validate(t, from_attributes=True)
        for t in await tasks.tasks_for_contact(session, contact_id, assigned_to=only_for)
    ]
