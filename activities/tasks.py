"""Activities for manual steps and decisions: to-do items for people, conditions on the contact."""

import uuid
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    CloseOpenTasksInput,
    CloseTaskInput,
    ConditionInput,
    CreatedTask,
    CreateTaskInput,
)
from activities.crm import ContactGone
from activities.merging import merge_values
from sequences import CONTACT_ATTRIBUTES, FieldCompare, FieldOp, HadEvent, HasTag
from sequences.merge import render
from store import contacts, events, tasks
from store.db import SessionMaker, transaction
from store.models import TASK_TITLE_LENGTH, Contact, Task, TaskStatus, utcnow


class TaskActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def create_task(self, request: CreateTaskInput) -> CreatedTask:
        """Put the step's to-do on the right person's list, once per effect key."""
        step, ref = request.step, request.ref
        async with transaction(self._sessionmaker) as session:
            contact = await contacts.get_contact(session, uuid.UUID(ref.contact_id))
            if contact is None:
                raise ContactGone(ref.contact_id)
            enrolled_by = uuid.UUID(request.enrolled_by) if request.enrolled_by else None
            assignee = await tasks.resolve_assignee(session, contact, step.assign_to, enrolled_by)
            values = await merge_values(session, contact)
            title = render(step.title, values)
            if len(title) > TASK_TITLE_LENGTH:
                raise ApplicationError(
                    f"the to-do's title renders to {len(title)} characters, over the "
                    f"{TASK_TITLE_LENGTH} a title holds: shorten the step's title or what it merges",
                    non_retryable=True,
                )
            task = await tasks.create_task(
                session,
                Task(
                    effect_key=ref.effect_key,
                    contact_id=contact.id,
                    enrollment_id=uuid.UUID(ref.enrollment_id),
                    workflow_id=request.workflow_id,
                    step_id=step.id,
                    kind=step.kind,
                    title=title,
                    instructions=step.instructions,
                    assigned_to=assignee,
                    due_at=request.now + step.due_in,
                    allowed_results=list(step.RESULTS),
                    opportunity_id=(
                        await tasks.latest_open_opportunity(session, contact.id)
                        if step.regarding_opportunity
                        else None
                    ),
                ),
            )
        return CreatedTask(
            task_id=str(task.id), assigned_to=str(task.assigned_to) if task.assigned_to else None
        )

    @activity.defn
    async def close_task(self, request: CloseTaskInput) -> bool:
        """Record a person's result on the to-do; False when it was already closed."""
        async with transaction(self._sessionmaker) as session:
            return await tasks.close_task(
                session,
                uuid.UUID(request.task_id),
                status=TaskStatus(request.status),
                result=request.result,
                notes=request.notes,
                closed_by=_user(request.closed_by),
                at=request.at,
            )

    @activity.defn
    async def close_open_tasks(self, request: CloseOpenTasksInput) -> list[str]:
        """Close the enrollment's open to-dos; the ids of those this call closed."""
        async with transaction(self._sessionmaker) as session:
            closed = await tasks.close_open_tasks(
                session,
                uuid.UUID(request.enrollment_id),
                status=TaskStatus(request.status),
                result=request.result,
                closed_by=_user(request.closed_by),
                assigned_to=_user(request.assigned_to),
                at=request.at,
            )
        return [str(task_id) for task_id in closed]

    @activity.defn
    async def check_condition(self, request: ConditionInput) -> bool:
        """Whether the contact's record meets the condition right now."""
        async with self._sessionmaker() as session:
            contact = await contacts.get_contact(session, uuid.UUID(request.contact_id))
            if contact is None:
                raise ContactGone(request.contact_id)
            check = request.check
            if isinstance(check, HasTag):
                return check.has_tag in await contacts.tag_names(session, contact.id)
            if isinstance(check, HadEvent):
                match = check.happened
                enrollment = request.enrollment_id
                return await events.happened(
                    session,
                    contact.id,
                    match.event,
                    name=match.name,
                    enrollment_id=uuid.UUID(enrollment) if enrollment else None,
                    step_id=match.step,
                    url_contains=match.url_contains,
                    since=utcnow() - check.within if check.within else None,
                )
        return _compare(_field_value(contact, check.field), check)


def _user(user_id: str | None) -> uuid.UUID | None:
    return uuid.UUID(user_id) if user_id else None


def _field_value(contact: Contact, field: str) -> Any:
    if field in CONTACT_ATTRIBUTES:
        return getattr(contact, field) or None
    return contact.fields.get(field.removeprefix("fields."))


def _compare(actual: Any, check: FieldCompare) -> bool:
    present = actual not in (None, "")
    if check.op in (FieldOp.is_set, FieldOp.is_not_set):
        return present == (check.op == FieldOp.is_set)
    if not present:
        return check.op == FieldOp.not_equals
    if check.op == FieldOp.contains:
        return str(check.value).lower() in str(actual).lower()
    left, right = _comparable(actual, check)
    match check.op:
        case FieldOp.equals:
            return bool(left == right)
        case FieldOp.not_equals:
            return bool(left != right)
        case FieldOp.greater_than:
            return bool(left > right)
        case _:
            return bool(left < right)


def _comparable(actual: Any, check: FieldCompare) -> tuple[Any, Any]:
    """Numbers compare as numbers; text and true/false as text, case-blind for true/false."""
    if isinstance(check.value, bool):
        return str(actual).lower(), str(check.value).lower()
    if isinstance(check.value, int | float):
        try:
            return float(actual), float(check.value)
        except (TypeError, ValueError):
            raise ApplicationError(
                f"field {check.field!r} holds {actual!r}, which is not a number",
                non_retryable=True,
            ) from None
    return str(actual), str(check.value)
