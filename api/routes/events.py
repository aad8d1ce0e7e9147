from fastapi import APIRouter, status
from sqlalchemy.dialects.postgresql import insert

from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.errors import NotFound
from api.schemas.events import EventAccepted, EventCreate
from api.services.contact_events import fan_out
from store import contacts
from store.models import ContactEvent, utcnow

router = APIRouter(tags=["events"])


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
    event = ContactEvent(
        contact_id=contact.id,
        event=body.event,
        name=body.name,
        data=body.data,
        occurred_at=body.occurred_at or utcnow(),
    )
    await session.execute(insert(ContactEvent).values(**event.model_dump()))
    told, enrolled = await fan_out(
        session, temporal, settings.temporal_task_queue, contact, user, body.event, body.name
    )
    return EventAccepted(event_id=event.id, enrollments_told=told, enrolled=enrolled)
