"""Recording what the contact did, and starting the workflow that tells its enrollments and goals
(enrolling.fan_out) once the record is committed."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.contracts import FanOutInput, FanOutResult
from sequences import URL_EVENTS
from store import events
from store.models import Contact, ContactEvent, User, utcnow
from workflows import search_attributes as sa
from workflows.fan_out import EventFanOutWorkflow, fan_out_id

FanOut = WorkflowHandle[EventFanOutWorkflow, FanOutResult]


class Recorded(NamedTuple):
    event_id: uuid.UUID
    fan_out: FanOut | None


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
    tell: bool = True,
) -> Recorded:
    """Keep the event in the contact's history; once the session commits, its enrollments and
    goals are told (`fan_out_after_commit`), unless not to `tell` (a machine's open)."""
    row = ContactEvent(
        contact_id=contact.id,
        event=event,
        name=name,
        data=data or {},
        occurred_at=occurred_at or utcnow(),
    )
    await events.add_event(session, row)
    if not tell:
        return Recorded(row.id, None)
    handle = await fan_out_after_commit(
        session,
        temporal,
        task_queue,
        row.id,
        contact.id,
        event,
        name,
        enroll_as=user.id if user else None,
        message_id=_text(row.data, "message_id"),
        url=_text(row.data, "url") or (name if event in URL_EVENTS else None),
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
    message_id: str | None = None,
    url: str | None = None,
) -> FanOut:
    """Start the workflow that runs enrolling.fan_out once the session's transaction has committed, and
    not at all if it rolls back: the session must commit after this returns."""
    request = FanOutInput(
        transaction=await events.transaction_id(session),
        contact_id=str(contact_id),
        event=event,
        name=name,
        enrolled_by=str(enroll_as) if enroll_as else None,
        message_id=message_id,
        url=url,
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


def _text(data: dict[str, Any], key: str) -> str | None:
    """A property of the event (the message it is about, the URL): webhooks give them, and API
    clients may."""
    value = data.get(key)
    return value if isinstance(value, str) else None


async def fanned_out(handle: FanOut, wait: timedelta) -> FanOutResult | None:
    """The fan-out's result, if it finishes within `wait`."""
    try:
        return await asyncio.wait_for(handle.result(), wait.total_seconds())
    except TimeoutError:
        return None
