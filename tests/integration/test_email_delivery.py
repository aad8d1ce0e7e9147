"""Emails leave over SMTP to a real server on loopback, once each."""

import email.message
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.contracts import DeliverInput
from activities.delivery import DeliveryActivities
from activities.email import message_id
from store.db import SessionMaker
from store.models import Message
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
)


def _body(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


GREETING = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {
                    "id": "hello",
                    "kind": "email",
                    "subject": "Hello {{ contact.first_name }}",
                    "body": "Welcome aboard.",
                }
            ],
        }
    ]
}


async def test_an_email_step_sends_over_smtp_and_marks_the_message_sent(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, await published_sequence(admin, GREETING), contact_id)
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert [e["detail"] for e in done["events"] if e["kind"] == "step_completed"] == [
        {"message": "sent"}
    ]

    [received] = smtp_sink.to("ada@example.com")
    assert received["Subject"] == "Hello Ada"
    assert received["From"] == "campaigns@example.com"
    assert _body(received).startswith("Welcome aboard.\n\n--\nUnsubscribe: http")
    [stored] = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert stored["status"] == "sent"
    async with sessionmaker() as session:
        key = await session.scalar(
            select(col(Message.effect_key)).where(col(Message.id) == uuid.UUID(stored["id"]))
        )
    assert received["Message-ID"] == message_id(str(key), "campaigns@example.com")


async def test_delivering_again_sends_nothing_more(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, await published_sequence(admin, GREETING), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")
    [stored] = await get_json(admin, f"/contacts/{contact_id}/messages")

    again = await ActivityEnvironment().run(
        DeliveryActivities(sessionmaker, smtp_sink.sender).deliver,
        DeliverInput(message_id=stored["id"]),
    )
    assert again.status == "sent"
    assert len(smtp_sink.to("ada@example.com")) == 1


async def test_a_refused_address_fails_the_step_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    contact_id = await new_contact(admin, email=SmtpSink.REFUSED)
    enrollment = await enroll(admin, await published_sequence(admin, GREETING), contact_id)
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"].startswith(
        f"step 'hello': the mail server refused {SmtpSink.REFUSED}"
    )
    [stored] = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert stored["status"] == "failed"
    assert smtp_sink.received == []


async def test_a_message_the_server_refuses_for_good_fails_the_step_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    contact_id = await new_contact(admin, email=SmtpSink.TOO_LARGE)
    enrollment = await enroll(admin, await published_sequence(admin, GREETING), contact_id)
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == (
        "step 'hello': the mail server refused the message: "
        "(552, '5.3.4 message size exceeds fixed limit')"
    ), failed
    [stored] = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert stored["status"] == "failed"


async def test_a_retry_after_the_address_is_fixed_sends_the_email_once(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin, email=SmtpSink.REFUSED)
    enrollment = await enroll(admin, await published_sequence(admin, GREETING), contact_id)
    await enrollment_status(admin, enrollment["id"], "failed")
    [refused] = await get_json(admin, f"/contacts/{contact_id}/messages")
    # A delivery attempt whose result was lost (a worker killed) must not pass for success.
    with pytest.raises(ApplicationError, match="refused") as again:
        await ActivityEnvironment().run(
            DeliveryActivities(sessionmaker, smtp_sink.sender).deliver,
            DeliverInput(message_id=refused["id"]),
        )
    assert again.value.non_retryable

    fixed = await admin.patch(f"/contacts/{contact_id}", json={"email": "ada@example.com"})
    assert fixed.status_code == 200, fixed.text
    assert (await admin.post(f"/enrollments/{enrollment['id']}/retry")).status_code == 202
    await enrollment_status(admin, enrollment["id"], "completed")

    [message] = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert (message["id"], message["status"], message["to_address"]) == (
        refused["id"],
        "sent",
        "ada@example.com",
    )
    assert len(smtp_sink.to("ada@example.com")) == 1


async def test_the_unsubscribe_link_stops_further_email(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    sequence_id = await published_sequence(admin, GREETING)
    contact_id = await new_contact(admin)
    first = await enroll(admin, sequence_id, contact_id)
    await enrollment_status(admin, first["id"], "completed")

    [received] = smtp_sink.to("ada@example.com")
    link = received["List-Unsubscribe"].strip("<>")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {link}" in _body(received)
    path = urlsplit(link).path

    forged = await api.post(path[:-4] + "0000")
    assert (forged.status_code, forged.json()["detail"]) == (
        404,
        "this unsubscribe link is not valid",
    )
    clicked = await api.post(path)  # no API key: the signed link is enough
    assert clicked.status_code == 204
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == ["email"]
    assert (await api.get(path)).status_code == 200, "opening it again is harmless"

    again = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"contact {contact_id} opted out of every channel sequence {sequence_id} uses",
    )
    assert len(smtp_sink.to("ada@example.com")) == 1


async def test_staff_notifications_carry_no_unsubscribe_link(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    notify = {
        "id": "tell",
        "kind": "email",
        "subject": "New lead",
        "body": "b",
        "send_to": {"who": "address", "address": "sales@example.com"},
    }
    contact_id = await new_contact(admin)
    enrollment = await enroll(
        admin,
        await published_sequence(admin, {"tracks": [{"id": "m", "steps": [notify]}]}),
        contact_id,
    )
    await enrollment_status(admin, enrollment["id"], "completed")
    [received] = smtp_sink.to("sales@example.com")
    assert received["List-Unsubscribe"] is None
