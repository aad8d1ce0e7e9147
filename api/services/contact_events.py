"""What the contact did reaches its running enrollments and the sequences whose goals it meets."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.contracts import FanOutInput, FanOutResult
from api.schemas.enrollments import EnrollOutcome
from api.services import enrollments as enrollment_service
from sequences import EventMatch
from store import enrollments, events, sequences, users
from store.models import Contact, ContactEvent, User, utcnow
from workflows import search_attributes as sa
from workflows.fan_out import EventFanOutWorkflow, fan_out_id
from workflows.state import ContactEventSignal

FanOut = WorkflowHandle[EventFanOutWorkflow, FanOutResult]


class Recorded(NamedTuple):
    event_id: uuid.UUID
    fan_out: FanOut


async def record(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    contact: Contact,
    user: User | None,
    event: str,
    name: str | None = None,
    *,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Recorded:
    """Keep the event in the contact's history; once the session commits, its enrollments and
    goals are told (`fan_out_after_commit`)."""
    row = ContactEvent(
        contact_id=contact.id,
        event=event,
        name=name,
        data=data or {},
        occurred_at=occurred_at or utcnow(),
    )
    await events.add_event(session, row)
    handle = await fan_out_after_commit(
        session,
        temporal,
        task_queue,
        row.id,
        contact.id,
        event,
        name,
        enroll_as=user.id if user else None,
    )
    return Recorded(row.id, handle)


async def fan_out_after_commit(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    event_id: uuid.UUID,
    contact_id: uuid.UUID,
    event: str,
    name: str | None,
    *,
    enroll_as: uuid.UUID | None,
) -> FanOut:
    """Start the workflow that runs `fan_out` once the session's transaction has committed, and
    not at all if it rolls back: the session must commit after this returns."""
    request = FanOutInput(
        transaction=await events.transaction_id(session),
        contact_id=str(contact_id),
        event=event,
        name=name,
        enrolled_by=str(enroll_as) if enroll_as else None,
    )
    return await temporal.start_workflow(
        EventFanOutWorkflow.run,
        request,
        id=fan_out_id(str(event_id)),
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(sa.CONTACT_ID, str(contact_id))]
        ),
        static_summary=f"{event} {name}" if name else event,
    )


async def fanned_out(handle: FanOut, wait: timedelta) -> FanOutResult | None:
    """The fan-out's result, if it finishes within `wait`."""
    try:
        return await asyncio.wait_for(handle.result(), wait.total_seconds())
    except TimeoutError:
        return None


async def fan_out(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    contact_id: uuid.UUID,
    event: str,
    name: str | None,
    *,
    enroll_as: uuid.UUID | None,
    skip: str | None = None,
) -> tuple[int, list[uuid.UUID]]:
    """Signal the contact's running enrollments (but the workflow `skip`), then enroll it where
    a goal matches.

    Returns how many enrollments were told and the ids of enrollments the goals started.
    Goals enroll on behalf of the user `enroll_as`; without one, only running enrollments are
    told.
    """
    signal = ContactEventSignal(event=event, name=name)
    told = 0
    for workflow_id in await enrollments.running_workflows_of_contact(session, contact_id):
        if workflow_id == skip:
            continue
        if await enrollment_service.signal_workflow(temporal, workflow_id, "contact_event", signal):
            told += 1

    started: list[uuid.UUID] = []
    if enroll_as is None:
        return told, started
    user: User | None = None
    for sequence, version in await sequences.published_with_goal(session, event):
        goals = [EventMatch.model_validate(g) for g in version.definition["settings"]["goals"]]
        if not any(goal.matches(event, name) for goal in goals):
            continue
        user = user or await users.get_user(session, enroll_as)
        if user is None:
            break
        # As the user's own enrollment would be: a rep's event enrolls only where shared.
        if not await enrollment_service.may_enroll_into(session, user, sequence.id):
            continue
        [result] = await enrollment_service.enroll(
            session, temporal, task_queue, sequence, [contact_id], user
        )
        if result.outcome == EnrollOutcome.enrolled and result.enrollment_id:
            started.append(result.enrollment_id)
    return told, started
