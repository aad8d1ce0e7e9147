"""What the contact did reaches its running enrollments and the sequences whose goals it meets."""

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.schemas.enrollments import EnrollOutcome
from api.services import enrollments as enrollment_service
from sequences import EventMatch
from store import enrollments, sequences, users
from store.models import Contact, ContactEvent, User, utcnow
from workflows.state import ContactEventSignal


class Recorded(NamedTuple):
    event_id: uuid.UUID
    told: int
    enrolled: list[uuid.UUID]


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
    """Keep the event in the contact's history, then tell enrollments and goals (`fan_out`)."""
    row = ContactEvent(
        contact_id=contact.id,
        event=event,
        name=name,
        data=data or {},
        occurred_at=occurred_at or utcnow(),
    )
    await session.execute(insert(ContactEvent).values(**row.model_dump()))
    told, enrolled = await fan_out(
        session, temporal, task_queue, contact.id, event, name, enroll_as=user.id if user else None
    )
    return Recorded(row.id, told, enrolled)


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
