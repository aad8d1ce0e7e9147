import uuid
from datetime import timedelta

from fastapi import APIRouter, status

from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.errors import NotFound, problems
from api.schemas.events import EventAccepted, EventCreate
from api.services import contact_events
from store import contacts

# How long the answer waits for the enrollments and goals to have been told.
FAN_OUT_WAIT = timedelta(seconds=5)

router = APIRouter(tags=["events"], responses=problems(401, 404, 422))


@router.post("/events", status_code=status.HTTP_202_ACCEPTED)
async def record_event(
    body: EventCreate,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> EventAccepted:
    """Record something the contact did; its enrollments and sequence goals react."""
    contact = await contacts.get_contact(session, body.contact_id)
    if contact is None:
        raise NotFound.of("contact", body.contact_id)
    recorded = await contact_events.record(
        session,
        temporal,
        settings.temporal_task_queue,
        contact,
        user,
        body.event,
        body.name,
        data=body.data,
        occurred_at=body.occurred_at,
    )
    await session.commit()
    assert recorded.fan_out is not None, "an event posted is always told"
    told = await contact_events.fanned_out(recorded.fan_out, FAN_OUT_WAIT)
    return EventAccepted(
        event_id=recorded.event_id,
        enrollments_told=told.told if told else None,
        enrolled=[uuid.UUID(e) for e in told.enrolled] if told else None,
    )
