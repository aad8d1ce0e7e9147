"""Rate limits, daily caps and quiet hours hold messages back; they are delayed, never dropped."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import EnrollmentRef, Reservation, ReserveInput
from activities.sending import SendingActivities
from sequences import Channel
from sequences.sending import QuietHours, Sending
from store.db import SessionMaker, transaction
from store.models import Contact, Message, Role, SendSlot, User
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)

# A Thursday, 22:00 in New York: inside 21:00-08:00 quiet hours there.
NIGHT_IN_NEW_YORK = datetime(2026, 1, 16, 3, 0, 30, tzinfo=UTC)
NOON = datetime(2026, 1, 16, 12, 0, 30, tzinfo=UTC)


async def _message(
    sessionmaker: SessionMaker,
    *,
    channel: Channel = Channel.sms,
    contact_tz: str | None = None,
    to_contact: bool = True,
    sent_by: uuid.UUID | None = None,
) -> Message:
    async with transaction(sessionmaker) as session:
        contact = Contact(first_name="Ada", phone="+15551234567", timezone=contact_tz)
        session.add(contact)
        await session.flush()
        message = Message(
            effect_key=f"test:{uuid.uuid4()}",
            contact_id=contact.id,
            channel=channel,
            to_address="+15551234567",
            to_contact=to_contact,
            sent_by=sent_by,
        )
        session.add(message)
    return message


async def _reserve(
    activities: SendingActivities,
    message: Message,
    sending: Sending,
    now: datetime,
    sequence_id: str = "s1",
) -> Reservation:
    return await activities.reserve(
        ReserveInput(
            ref=EnrollmentRef(
                enrollment_id=str(uuid.uuid4()),
                contact_id=str(message.contact_id),
                effect_key=message.effect_key,
            ),
            message_id=str(message.id),
            channel=Channel(message.channel),
            sequence_id=sequence_id,
            sending=sending,
            timezone=None,
            now=now,
        )
    )


async def test_a_sequence_rate_limit_moves_the_third_message_to_the_next_minute(
    sessionmaker: SessionMaker,
) -> None:
    activities = SendingActivities(sessionmaker, {})
    sending = Sending(rate_limits={Channel.sms: 2})
    messages = [await _message(sessionmaker) for _ in range(3)]

    slots = [await _reserve(activities, m, sending, NOON) for m in messages]

    assert [s.send_at for s in slots] == [NOON, NOON, datetime(2026, 1, 16, 12, 1, tzinfo=UTC)]
    assert [s.reason for s in slots] == [None, None, "the sequence's sms limit of 2 a minute"]
    # Another sequence has its own limit; asking again keeps the place and takes no new slot.
    other = await _reserve(activities, await _message(sessionmaker), sending, NOON, "s2")
    assert other.send_at == NOON
    assert await _reserve(activities, messages[2], sending, NOON) == slots[2]
    async with sessionmaker() as session:
        used = {slot.window_start: slot.used for slot in await _slots(session, "sequence:s1:sms")}
    assert used == {NOON.replace(second=0): 2, datetime(2026, 1, 16, 12, 1, tzinfo=UTC): 1}


async def _slots(session: AsyncSession, scope: str) -> list[SendSlot]:
    return list(await session.scalars(select(SendSlot).where(col(SendSlot.scope) == scope)))


async def test_the_global_limit_spans_sequences(sessionmaker: SessionMaker) -> None:
    activities = SendingActivities(sessionmaker, {"email": 1})
    first = await _message(sessionmaker, channel=Channel.email)
    second = await _message(sessionmaker, channel=Channel.email)

    await _reserve(activities, first, Sending(), NOON, "s1")
    held = await _reserve(activities, second, Sending(), NOON, "s2")

    assert held.send_at == datetime(2026, 1, 16, 12, 1, tzinfo=UTC)
    assert held.reason == "the email limit of 1 a minute"


async def test_a_users_daily_cap_moves_the_rest_to_the_next_day(
    sessionmaker: SessionMaker,
) -> None:
    async with transaction(sessionmaker) as session:
        user = User(email="rep@example.com", role=Role.rep, daily_send_cap=2)
        session.add(user)
    activities = SendingActivities(sessionmaker, {})
    messages = [await _message(sessionmaker, sent_by=user.id) for _ in range(3)]

    slots = [await _reserve(activities, m, Sending(), NOON) for m in messages]

    assert slots[2].send_at == datetime(2026, 1, 17, tzinfo=UTC)
    assert slots[2].reason == "rep@example.com's daily cap of 2 messages"
    assert slots[1].send_at == NOON


async def test_quiet_hours_hold_a_message_until_morning_in_the_contacts_timezone(
    sessionmaker: SessionMaker,
) -> None:
    activities = SendingActivities(sessionmaker, {})
    sending = Sending(quiet_hours=QuietHours(start="21:00", end="08:00"))  # type: ignore[arg-type]
    to_contact = await _message(sessionmaker, contact_tz="America/New_York")
    to_staff = await _message(sessionmaker, contact_tz="America/New_York", to_contact=False)

    held = await _reserve(activities, to_contact, sending, NIGHT_IN_NEW_YORK)
    staff = await _reserve(activities, to_staff, sending, NIGHT_IN_NEW_YORK)

    assert held.send_at == datetime(2026, 1, 16, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert held.reason == "quiet hours in America/New_York until 08:00"
    assert staff.send_at == NIGHT_IN_NEW_YORK and staff.reason is None


async def test_the_end_of_quiet_hours_still_respects_a_full_minute(
    sessionmaker: SessionMaker,
) -> None:
    activities = SendingActivities(sessionmaker, {})
    sending = Sending(
        rate_limits={Channel.sms: 1},
        quiet_hours=QuietHours(start="21:00", end="08:00"),  # type: ignore[arg-type]
    )
    first = await _message(sessionmaker, contact_tz="America/New_York")
    second = await _message(sessionmaker, contact_tz="America/New_York")

    await _reserve(activities, first, sending, NIGHT_IN_NEW_YORK)
    held = await _reserve(activities, second, sending, NIGHT_IN_NEW_YORK)

    assert held.send_at == datetime(2026, 1, 16, 13, 1, tzinfo=UTC)


async def test_a_held_email_waits_visibly_then_goes_once(
    admin: httpx.AsyncClient,
    worker: Worker,
    client: Client,
    smtp_sink: SmtpSink,
) -> None:
    now = datetime.now(UTC)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M:%S"),
        "end": (now + timedelta(seconds=8)).strftime("%H:%M:%S"),
    }
    definition = {
        "settings": {"sending": {"quiet_hours": quiet}},
        "tracks": [
            {
                "id": "main",
                "steps": [{"id": "hello", "kind": "email", "subject": "Hi", "body": "Morning!"}],
            }
        ],
    }
    contact_id = await new_contact(admin, timezone="UTC")
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)

    def held_event(body: dict[str, Any]) -> bool:
        return any(e["kind"] == "message_held" for e in body["events"])

    waiting = await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"), held_event
    )
    [held] = [e["detail"] for e in waiting["events"] if e["kind"] == "message_held"]
    assert held["held_because"].startswith("quiet hours in UTC until ")
    state = await client.get_workflow_handle(waiting["workflow_id"]).query("state")
    assert state["tracks"]["main"]["held_because"] == held["held_because"]
    assert smtp_sink.to("ada@example.com") == []

    done = await enrollment_status(admin, enrollment["id"], "completed")

    assert len(smtp_sink.to("ada@example.com")) == 1
    [completed] = [e["detail"] for e in done["events"] if e["kind"] == "step_completed"]
    assert completed == {**held, "message": "sent"}


async def test_an_admin_sets_a_daily_cap_that_holds_messages_sent_in_the_users_name(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    created = await admin.post(
        "/users", json={"email": "rep@example.com", "role": "rep", "daily_send_cap": 5}
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    capped = await admin.patch(f"/users/{user_id}", json={"daily_send_cap": 1})
    assert capped.json()["daily_send_cap"] == 1
    refused = await admin.patch(f"/users/{user_id}", json={"daily_send_cap": -1})
    assert refused.status_code == 422
    definition = {
        "settings": {"sending": {"sender": {"user_id": user_id, "name": "Your rep"}}},
        "tracks": [
            {"id": "main", "steps": [{"id": "hi", "kind": "email", "subject": "Hi", "body": "b"}]}
        ],
    }
    sequence_id = await published_sequence(admin, definition)
    first = await enroll(admin, sequence_id, await new_contact(admin, email="one@example.com"))
    await enrollment_status(admin, first["id"], "completed")
    second = await enroll(admin, sequence_id, await new_contact(admin, email="two@example.com"))

    def held_event(body: dict[str, Any]) -> bool:
        return any(e["kind"] == "message_held" for e in body["events"])

    waiting = await eventually(lambda: get_json(admin, f"/enrollments/{second['id']}"), held_event)

    [held] = [e["detail"] for e in waiting["events"] if e["kind"] == "message_held"]
    assert held["held_because"] == "rep@example.com's daily cap of 1 messages"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert datetime.fromisoformat(held["held_until"]) == datetime.combine(tomorrow, time(), UTC)
    [sent] = smtp_sink.to("one@example.com")
    assert sent["From"] == "Your rep <rep@example.com>"
    assert smtp_sink.to("two@example.com") == []
