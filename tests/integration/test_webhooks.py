"""Providers report back: bounces, opens, clicks, unsubscribes, Twilio statuses and inbound SMS."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import col
from temporalio.worker import Worker

from api.main import create_app
from settings import Settings
from store.db import SessionMaker, transaction
from store.models import ContactEvent, Message, MessageStatus
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)

SECRET = "email-webhook-secret"
TOKEN = "twilio-auth-token"
# Providers call the public address; the app is reached here under another one, as behind a proxy.
PUBLIC_URL = "https://campaigns.example.com"
PHONE = "+15551230001"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_secret": SECRET,
            "twilio_auth_token": TOKEN,
            "public_base_url": PUBLIC_URL + "/",
        }
    )


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal") as http:
            yield http


@pytest_asyncio.fixture(loop_scope="session")
async def provider(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a provider calls it: no API key, only signatures."""
    async with _app(settings) as http:
        yield http


def _sign_body(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    signed = timestamp.encode() + b"." + body
    signature = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"X-Signature-256": signature, "X-Webhook-Timestamp": timestamp}


async def _email(
    http: httpx.AsyncClient, payload: dict[str, Any], signature: str | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", **_sign_body(body)}
    if signature is not None:
        headers["X-Signature-256"] = signature
    return await http.post("/webhooks/email", content=body, headers=headers)


def _twilio_signature(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    """Twilio's documented scheme: the URL, then each parameter's name and value by name."""
    signed = url + "".join(name + form[name] for name in sorted(form))
    return base64.b64encode(
        hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    ).decode()


async def _twilio(
    http: httpx.AsyncClient, path: str, form: dict[str, str], signature: str | None = None
) -> httpx.Response:
    signature = signature or _twilio_signature(PUBLIC_URL + path, form)
    return await http.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def _message(
    sessionmaker: SessionMaker,
    contact_id: str,
    provider_id: str,
    *,
    channel: str = "email",
    to_contact: bool = True,
    status: MessageStatus = MessageStatus.sent,
    enrollment_id: str | None = None,
) -> uuid.UUID:
    """A message as the deliver activity leaves it once the provider has taken it."""
    message = Message(
        effect_key=f"test:{uuid.uuid4()}",
        enrollment_id=uuid.UUID(enrollment_id) if enrollment_id else None,
        contact_id=uuid.UUID(contact_id),
        channel=channel,
        to_address="ada@example.com" if channel == "email" else PHONE,
        to_contact=to_contact,
        subject="Hello",
        body="Hi Ada",
        status=status,
        provider_id=provider_id,
    )
    async with transaction(sessionmaker) as session:
        session.add(message)
    return message.id


async def _stored(sessionmaker: SessionMaker, message_id: uuid.UUID) -> Message:
    async with sessionmaker() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def _events(sessionmaker: SessionMaker, contact_id: str) -> list[ContactEvent]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id) == uuid.UUID(contact_id))
            .order_by(col(ContactEvent.occurred_at))
        )
        return list(rows)


def test_the_tests_twilio_signer_matches_twilios_published_example() -> None:
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert _twilio_signature(url, form, token="12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


async def test_a_bounce_ends_a_sleeping_enrollment_by_its_exit_rule(
    admin: httpx.AsyncClient,
    provider: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
) -> None:
    definition = {
        "settings": {"exit_rules": [{"event": "bounced", "outcome": "negative"}]},
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "wait", "kind": "delay", "duration": "PT1H"},
                    {"id": "too-late", "kind": "apply_tag", "tag": "too-late"},
                ],
            }
        ],
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda e: e["status"] == "active" and e["current_step"] == "wait",
    )
    message_id = await _message(
        sessionmaker, contact_id, "0f1e2d3c@example.com", enrollment_id=enrollment["id"]
    )

    bounce = {
        "message_id": "<0f1e2d3c@example.com>",
        "event": "bounced",
        "detail": "550 5.1.1 no such mailbox",
    }
    response = await _email(provider, bounce)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["message_id"], answer["status"], answer["event"]) == (
        str(message_id),
        "bounced",
        "bounced",
    )
    assert answer["event_id"] is not None

    ended = await enrollment_status(admin, enrollment["id"], "completed")
    assert ended["outcome"] == "negative"
    assert [e["kind"] for e in ended["events"]][-2:] == ["exited", "completed"]
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == []
    stored = await _stored(sessionmaker, message_id)
    assert (stored.status, stored.status_detail) == (
        MessageStatus.bounced,
        "550 5.1.1 no such mailbox",
    )
    [event] = await _events(sessionmaker, contact_id)
    assert (event.event, event.data["message_id"]) == ("bounced", str(message_id))

    # Providers retry their reports: a second one is accepted and changes nothing.
    again = await _email(provider, bounce)
    assert again.status_code == 202, again.text
    assert (again.json()["event"], again.json()["event_id"]) == (None, None)
    assert len(await _events(sessionmaker, contact_id)) == 1


async def test_email_webhooks_refuse_what_they_cannot_trust(
    admin: httpx.AsyncClient,
    provider: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    contact_id = await new_contact(admin)
    message_id = await _message(sessionmaker, contact_id, "abc@example.com")
    opened = {"message_id": "abc@example.com", "event": "opened"}

    forged = await _email(provider, opened, signature=_sign_body(b"{}")["X-Signature-256"])
    assert forged.status_code == 401
    assert forged.json()["detail"] == (
        "X-Signature-256 does not match '<timestamp>.<body>' signed with WEBHOOK_SECRET"
    )
    raw = json.dumps(opened).encode()
    other_secret = await _email(
        provider, opened, signature=_sign_body(raw, "guess")["X-Signature-256"]
    )
    assert other_secret.status_code == 401
    unsigned = await _email(provider, opened, signature="")
    assert unsigned.status_code == 401
    assert "missing X-Signature-256" in unsigned.json()["detail"]
    # A request captured and sent again later: its signature holds, its timestamp has aged.
    replayed = await provider.post(
        "/webhooks/email",
        content=raw,
        headers={"content-type": "application/json", **_sign_body(raw, at=int(time.time()) - 301)},
    )
    assert replayed.status_code == 401
    assert "more than 300 s from now" in replayed.json()["detail"]
    moved = {
        **_sign_body(raw, at=int(time.time()) - 301),
        "X-Webhook-Timestamp": str(int(time.time())),
    }
    assert (await provider.post("/webhooks/email", content=raw, headers=moved)).status_code == 401
    assert await _events(sessionmaker, contact_id) == []
    assert (await _stored(sessionmaker, message_id)).status == MessageStatus.sent

    unknown = await _email(provider, {"message_id": "<nobody@example.com>", "event": "opened"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no message was sent with provider id 'nobody@example.com'"

    body = b'{"message_id": "abc@example.com", "event":'
    malformed = await provider.post("/webhooks/email", content=body, headers=_sign_body(body))
    assert malformed.status_code == 422
    assert malformed.json()["detail"].startswith("invalid email event: body: Invalid JSON")
    wrong_kind = await _email(provider, {"message_id": "abc@example.com", "event": "exploded"})
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["detail"].startswith("invalid email event: event: Input should be")
    naive = await _email(provider, {**opened, "occurred_at": "2026-01-31T09:00:00"})
    assert naive.status_code == 422
    assert "occurred_at needs a timezone" in naive.json()["detail"]
    assert await _events(sessionmaker, contact_id) == []

    unset = settings.model_copy(update={"webhook_secret": None, "twilio_auth_token": None})
    async with _app(unset) as off:
        email = await _email(off, opened)
        assert (email.status_code, email.json()["detail"]) == (
            404,
            "email webhooks are off until WEBHOOK_SECRET is set",
        )
        status = await _twilio(off, "/webhooks/twilio/status", {"MessageSid": "SM1"})
        assert (status.status_code, status.json()["detail"]) == (
            404,
            "Twilio webhooks are off until TWILIO_AUTH_TOKEN is set",
        )
        inbound = await _twilio(off, "/webhooks/twilio/inbound", {"From": PHONE, "Body": "hi"})
        assert inbound.status_code == 404


async def test_opens_clicks_and_unsubscribes_become_contact_events(
    admin: httpx.AsyncClient, provider: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin)
    to_contact = await _message(sessionmaker, contact_id, "m1@example.com")
    to_owner = await _message(sessionmaker, contact_id, "m2@example.com", to_contact=False)
    url = "https://example.com/pricing?utm=welcome"

    delivered = await _email(provider, {"message_id": "m1@example.com", "event": "delivered"})
    assert delivered.status_code == 202, delivered.text
    assert (delivered.json()["status"], delivered.json()["event"]) == ("delivered", None)
    opened = await _email(
        provider,
        {"message_id": "m1@example.com", "event": "opened", "occurred_at": "2024-01-31T09:00:00Z"},
    )
    assert opened.json()["event"] == "email_opened"
    clicked = await _email(
        provider, {"message_id": "m1@example.com", "event": "clicked", "url": url}
    )
    assert clicked.json()["event"] == "link_clicked"
    # The owner's copy opening says nothing about the contact.
    staff = await _email(provider, {"message_id": "m2@example.com", "event": "opened"})
    assert (staff.status_code, staff.json()["event"]) == (202, None)
    staff_out = await _email(provider, {"message_id": "m2@example.com", "event": "unsubscribed"})
    assert staff_out.json()["event"] is None
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == []

    complained = await _email(provider, {"message_id": "m1@example.com", "event": "complained"})
    assert complained.json()["event"] == "unsubscribed"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == ["email"]
    unsubscribed = await _email(provider, {"message_id": "m1@example.com", "event": "unsubscribed"})
    assert unsubscribed.status_code == 202
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == ["email"]

    events = await _events(sessionmaker, contact_id)
    assert [(e.event, e.name) for e in events] == [
        ("email_opened", None),
        ("link_clicked", url),
        ("unsubscribed", None),
        ("unsubscribed", None),
    ]
    assert events[0].occurred_at.isoformat() == "2024-01-31T09:00:00+00:00"
    assert events[1].data["url"] == url
    assert (await _stored(sessionmaker, to_contact)).status == MessageStatus.delivered
    assert (await _stored(sessionmaker, to_owner)).status == MessageStatus.sent


async def test_an_event_id_received_again_changes_nothing(
    admin: httpx.AsyncClient, provider: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin)
    await _message(sessionmaker, contact_id, "m1@example.com")
    clicked = {"message_id": "m1@example.com", "event": "clicked", "event_id": "evt-1"}
    first = await _email(provider, clicked)
    again = await _email(provider, clicked)
    assert (first.json()["event"], first.json()["duplicate"]) == ("link_clicked", False)
    assert (again.status_code, again.json()["event"], again.json()["duplicate"]) == (
        202,
        None,
        True,
    )
    another = await _email(provider, {**clicked, "event_id": "evt-2"})
    assert another.json()["event"] == "link_clicked"
    assert [e.event for e in await _events(sessionmaker, contact_id)] == ["link_clicked"] * 2


async def test_twilio_status_callbacks_follow_each_message(
    admin: httpx.AsyncClient, provider: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    contact_id = await new_contact(admin, phone=PHONE)
    delivered = await _message(sessionmaker, contact_id, "SM-delivered", channel="sms")
    failed = await _message(sessionmaker, contact_id, "SM-failed", channel="sms")
    call = await _message(
        sessionmaker, contact_id, "CA-ringing", channel="voice", status=MessageStatus.queued
    )
    path = "/webhooks/twilio/status"

    form = {"MessageSid": "SM-delivered", "MessageStatus": "delivered", "AccountSid": "AC1"}
    forged = await _twilio(provider, path, form, signature=_twilio_signature(PUBLIC_URL, form))
    assert forged.status_code == 401
    assert forged.json()["detail"] == (
        f"X-Twilio-Signature does not match a request to {PUBLIC_URL}{path} "
        "signed with TWILIO_AUTH_TOKEN"
    )
    # Signed for the address the app is reached at, not the one Twilio was given.
    internal = await _twilio(
        provider, path, form, signature=_twilio_signature(f"http://internal{path}", form)
    )
    assert internal.status_code == 401
    unsigned = await provider.post(path, data=form)
    assert (unsigned.status_code, unsigned.json()["detail"]) == (
        401,
        "missing X-Twilio-Signature header",
    )
    assert (await _stored(sessionmaker, delivered)).status == MessageStatus.sent

    ok = await _twilio(provider, path, form)
    assert (ok.status_code, ok.content) == (204, b"")
    assert (await _stored(sessionmaker, delivered)).status == MessageStatus.delivered

    undelivered = {"MessageSid": "SM-failed", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert (await _twilio(provider, path, undelivered)).status_code == 204
    bounced = await _stored(sessionmaker, failed)
    assert bounced.status == MessageStatus.bounced
    assert bounced.status_detail is not None and "30003" in bounced.status_detail
    [event] = await _events(sessionmaker, contact_id)
    assert (event.event, event.data["channel"]) == ("bounced", "sms")

    ringing = {"CallSid": "CA-ringing", "CallStatus": "ringing"}
    assert (await _twilio(provider, path, ringing)).status_code == 204
    assert (await _stored(sessionmaker, call)).status == MessageStatus.sent

    unknown = await _twilio(provider, path, {"MessageSid": "SM-nope", "MessageStatus": "sent"})
    assert unknown.status_code == 404
    incomplete = await _twilio(provider, path, {"MessageSid": "SM-failed"})
    assert incomplete.status_code == 422
    assert "needs MessageSid and MessageStatus" in incomplete.json()["detail"]
    as_json = await provider.post(
        path, json=form, headers={"X-Twilio-Signature": _twilio_signature(PUBLIC_URL + path, {})}
    )
    assert as_json.status_code == 422
    assert len(await _events(sessionmaker, contact_id)) == 1


async def test_inbound_sms_is_a_reply_or_an_opt_out(
    admin: httpx.AsyncClient,
    provider: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
) -> None:
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "answer",
                        "kind": "wait_for_event",
                        "match": {"event": "replied"},
                        "within": "PT1H",
                        "if_not": {"end": "negative"},
                    },
                    {"id": "hot", "kind": "apply_tag", "tag": "hot", "then": {"end": "positive"}},
                ],
            }
        ]
    }
    sequence_id = await published_sequence(admin, definition)
    contact_id = await new_contact(admin, phone=PHONE)
    stranger = await new_contact(admin, email="b@example.com", phone="+15559990000")
    enrollment = await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda e: e["status"] == "active" and e["current_step"] == "answer",
    )
    path = "/webhooks/twilio/inbound"

    forged = await _twilio(
        provider, path, {"From": PHONE, "Body": "Yes"}, signature=_twilio_signature(path, {})
    )
    assert forged.status_code == 401
    assert await _events(sessionmaker, contact_id) == []

    reply = {"From": PHONE, "To": "+15550000000", "Body": "Yes please", "MessageSid": "SM-in-1"}
    answered = await _twilio(provider, path, reply)
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"] == "application/xml"
    assert answered.text == "<Response/>"
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "positive"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["hot"]
    [replied] = await _events(sessionmaker, contact_id)
    assert (replied.event, replied.data["body"], replied.data["message_sid"]) == (
        "replied",
        "Yes please",
        "SM-in-1",
    )

    stop = {"From": PHONE, "To": "+15550000000", "Body": " stop ", "MessageSid": "SM-in-2"}
    assert (await _twilio(provider, path, stop)).text == "<Response/>"
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == ["sms"]
    assert [e.event for e in await _events(sessionmaker, contact_id)] == [
        "replied",
        "unsubscribed",
    ]

    # Twilio retries a webhook it got no answer to: the same MessageSid is one reply.
    assert (await _twilio(provider, path, stop)).text == "<Response/>"
    assert len(await _events(sessionmaker, contact_id)) == 2

    nobody = {"From": "+15551112222", "To": "+15550000000", "Body": "who is this?"}
    unknown = await _twilio(provider, path, nobody)
    assert (unknown.status_code, unknown.text) == (200, "<Response/>")
    assert len(await _events(sessionmaker, contact_id)) == 2
    assert await _events(sessionmaker, stranger) == []
    assert (await get_json(admin, f"/contacts/{stranger}"))["do_not_contact"] == []


async def test_stop_from_a_number_typed_otherwise_opts_the_contact_out(
    admin: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    contact_id = await new_contact(admin, phone="+1 (555) 987-7430")
    stored = await get_json(admin, f"/contacts/{contact_id}")
    assert stored["phone"] == "+15559877430"
    local = await new_contact(admin, email="local@example.com", phone="(555) 987-7431")
    assert (await get_json(admin, f"/contacts/{local}"))["phone"] == "+15559877431"

    stop = {"From": "+15559877430", "To": "+15550000000", "Body": "STOP"}
    assert (await _twilio(provider, "/webhooks/twilio/inbound", stop)).status_code == 200
    assert (await get_json(admin, f"/contacts/{contact_id}"))["do_not_contact"] == ["sms"]

    refused = await admin.post("/contacts", json={"email": "x@example.com", "phone": "123"})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("phone: '123' is not a possible phone number")
