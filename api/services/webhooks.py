"""What channel providers report back: message delivery and bounces, opens, clicks, replies."""

import base64
import hashlib
import hmac
from collections.abc import Sequence as Seq
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

import links
from api.errors import NotFound, Unauthorized
from api.schemas.webhooks import EmailEvent, EmailEventApplied, EmailEventKind
from api.services import contact_events
from sequences import Channel, EventType
from sequences.phones import to_e164
from store import contacts, messages, webhooks
from store.models import Contact, Message, MessageStatus, utcnow

# The words carriers and Twilio treat as an SMS opt-out.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
EXCERPT = 500

TWILIO_DELIVERED = frozenset({"delivered", "completed"})
TWILIO_BOUNCED = frozenset({"undelivered", "failed", "busy", "no-answer"})
TWILIO_UNDERWAY = frozenset({"sent", "queued", "sending", "ringing", "in-progress"})

_EMAIL_EVENTS: dict[EmailEventKind, EventType] = {
    "opened": EventType.email_opened,
    "clicked": EventType.link_clicked,
    "replied": EventType.replied,
    "unsubscribed": EventType.unsubscribed,
    "complained": EventType.unsubscribed,
}


# How far a signed request's timestamp may be from now, as Stripe and Svix allow: a captured
# request replayed later than this is refused.
SIGNATURE_TOLERANCE_SECONDS = 300


def check_body_signature(
    secret: str, body: bytes, header: str | None, timestamp: str | None, now: float
) -> None:
    """`X-Webhook-Timestamp: <Unix seconds>` and `X-Signature-256: sha256=<hex HMAC-SHA256 of
    "<timestamp>." followed by the raw body>`: the timestamp is signed, so it cannot be moved."""
    if not header or not timestamp:
        raise Unauthorized(
            "missing X-Signature-256 or X-Webhook-Timestamp header: sign "
            "'<timestamp>.<raw body>' with WEBHOOK_SECRET"
        )
    if not timestamp.strip().isdigit():
        raise Unauthorized("X-Webhook-Timestamp must be Unix time in whole seconds")
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise Unauthorized(
            f"X-Webhook-Timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} s from now: "
            "a request is signed when it is sent, and a replayed one is refused"
        )
    expected = links.body_signature(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), header.strip().encode()):
        raise Unauthorized(
            "X-Signature-256 does not match '<timestamp>.<body>' signed with WEBHOOK_SECRET"
        )


def twilio_signature(auth_token: str, url: str, params: Seq[tuple[str, str]]) -> str:
    """base64(HMAC-SHA1(auth token, url + each key and value, sorted by key)), Twilio's scheme."""
    values: dict[str, set[str]] = {}
    for key, value in params:
        values.setdefault(key, set()).add(value)
    signed = url + "".join(key + value for key in sorted(values) for value in sorted(values[key]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> tuple[str, str]:
    """The URL with its port written out and left out, as Twilio's own validator tries both:
    which one Twilio signed depends on how the webhook's address was entered there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    with_port = parts._replace(netloc=f"{prefix}{host}:{port}")
    without = parts._replace(netloc=f"{prefix}{host}")
    return urlunsplit(with_port), urlunsplit(without)


def check_twilio_signature(
    auth_token: str, url: str, params: Seq[tuple[str, str]], header: str | None
) -> None:
    if not header:
        raise Unauthorized("missing X-Twilio-Signature header")
    given = header.strip().encode()
    if not any(
        hmac.compare_digest(twilio_signature(auth_token, signed, params).encode(), given)
        for signed in _with_and_without_port(url)
    ):
        raise Unauthorized(
            f"X-Twilio-Signature does not match a request to {url} signed with TWILIO_AUTH_TOKEN"
        )


async def message_by_provider_id(session: AsyncSession, provider_id: str) -> Message:
    message = await messages.by_provider_id(session, provider_id)
    if message is None:
        raise NotFound(f"no message was sent with provider id {provider_id!r}")
    return message


def _mark_sent(message: Message, status: MessageStatus) -> None:
    message.status = status
    if message.sent_at is None:
        message.sent_at = utcnow()


def mark_delivered(message: Message) -> None:
    # A late delivery report does not undo a bounce the enrollments were already told of.
    if message.status in (MessageStatus.queued, MessageStatus.sent):
        _mark_sent(message, MessageStatus.delivered)


def mark_bounced(message: Message, detail: str) -> bool:
    """Mark the message bounced; False when it already was (providers repeat their reports)."""
    if message.status == MessageStatus.bounced:
        return False
    message.status = MessageStatus.bounced
    message.status_detail = detail[:1000]
    return True


async def _contact_of(session: AsyncSession, message: Message) -> Contact:
    contact = await contacts.get_contact(session, message.contact_id)
    assert contact is not None, "a message's contact is removed with its messages"
    return contact


def _no_event(message: Message, *, duplicate: bool = False) -> EmailEventApplied:
    return EmailEventApplied(
        message_id=message.id,
        status=message.status,
        event=None,
        event_id=None,
        duplicate=duplicate,
    )


async def apply_email_event(
    session: AsyncSession, temporal: Client, task_queue: str, body: EmailEvent
) -> EmailEventApplied:
    provider_id = body.message_id.strip().strip("<>")
    message = await message_by_provider_id(session, provider_id)
    if body.event_id and not await webhooks.first_receipt(session, "email", body.event_id):
        return _no_event(message, duplicate=True)
    event: EventType | None = _EMAIL_EVENTS.get(body.event)
    if body.event == "delivered":
        mark_delivered(message)
    elif body.event == "bounced":
        event = EventType.bounced if mark_bounced(message, body.detail or "bounced") else None
    # Messages to staff about the contact say nothing about what the contact did.
    if not message.to_contact or event is None:
        await session.flush()
        return _no_event(message)

    contact = await _contact_of(session, message)
    if event == EventType.unsubscribed:
        await contacts.opt_out(session, contact, Channel.email)
    data: dict[str, Any] = {
        "channel": Channel.email.value,
        "message_id": str(message.id),
        "provider_id": provider_id,
        "provider_event": body.event,
    }
    if body.detail:
        data["detail"] = body.detail
    if body.url:
        data["url"] = body.url
    # Event names are at most 200 characters, as are the names rules match on; a longer link
    # stays in the data rather than being cut into a name that some rule might match.
    clicked = event == EventType.link_clicked and body.url and len(body.url) <= 200
    recorded = await contact_events.record(
        session,
        temporal,
        task_queue,
        contact,
        None,
        event,
        body.url if clicked else None,
        data=data,
        occurred_at=body.occurred_at,
    )
    return EmailEventApplied(
        message_id=message.id,
        status=message.status,
        event=event,
        event_id=recorded.event_id,
    )


async def apply_twilio_status(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    sid: str,
    status: str,
    error_code: str | None,
) -> None:
    """Follow a message, call or fax's status; a failure is a bounce the contact's enrollments see."""
    message = await message_by_provider_id(session, sid)
    if status in TWILIO_DELIVERED:
        mark_delivered(message)
    elif status in TWILIO_UNDERWAY:
        if message.status == MessageStatus.queued:
            _mark_sent(message, MessageStatus.sent)
    elif status in TWILIO_BOUNCED:
        detail = f"{status}: Twilio error {error_code}" if error_code else status
        if mark_bounced(message, detail) and message.to_contact:
            await contact_events.record(
                session,
                temporal,
                task_queue,
                await _contact_of(session, message),
                None,
                EventType.bounced,
                data={
                    "channel": message.channel,
                    "message_id": str(message.id),
                    "provider_id": sid,
                    "detail": detail,
                },
            )
    # Any other status (Twilio adds some over time) changes nothing here.
    await session.flush()


async def inbound_sms(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    sender: str,
    text: str,
    sid: str | None,
    *,
    default_region: str,
) -> None:
    """An SMS from a contact: a reply, or an opt-out of SMS. Matched in E.164, as contacts'
    numbers are kept, however the carrier or the contact wrote it."""
    try:
        number = to_e164(sender, default_region)
    except ValueError:
        return
    if sid and not await webhooks.first_receipt(session, "twilio-inbound", sid):
        return
    found = await contacts.with_phone(session, number)
    stop = text.strip().upper() in STOP_WORDS
    data: dict[str, Any] = {"channel": Channel.sms.value, "from": sender, "body": text[:EXCERPT]}
    if sid:
        data["message_sid"] = sid
    for contact in found:
        if stop:
            await contacts.opt_out(session, contact, Channel.sms)
        await contact_events.record(
            session,
            temporal,
            task_queue,
            contact,
            None,
            EventType.unsubscribed if stop else EventType.replied,
            data=data,
        )
