"""Inbound email matched to what we sent: replies, auto-replies and bounces become events.

A reply is matched to the exact message by In-Reply-To and References against the Message-IDs
we sent (derived from effect keys, kept as provider ids), falling back to the sender's address:
then the contact's latest email is taken as the one answered.
"""

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Invalid
from api.services import contact_events
from api.services.mail_parsing import Bounce, InboundKind, InboundMail, parse
from api.services.webhooks import mark_bounced
from sequences import Channel, EventType
from store import contacts, engagement, messages, webhooks
from store.models import Contact, Message, utcnow

_EVENTS = {
    InboundKind.reply: EventType.replied,
    InboundKind.auto_reply: EventType.auto_replied,
    InboundKind.bounce: EventType.bounced,
}


class InboundApplied(BaseModel):
    kind: InboundKind = Field(description="What the mail is: a reply, an auto-reply, a bounce.")
    message_id: uuid.UUID | None = Field(
        default=None, description="The message of ours it answers or reports."
    )
    contact_id: uuid.UUID | None = Field(
        default=None, description="Whose it is; none: no contact of ours."
    )
    event: EventType | None = Field(default=None, description="The contact event recorded, if any.")
    event_id: uuid.UUID | None = None
    duplicate: bool = Field(default=False, description="This mail was received before.")


async def apply_inbound(
    session: AsyncSession, temporal: Client, task_queue: str, raw: bytes
) -> InboundApplied:
    mail = parse(raw)
    if not mail.sender:
        raise Invalid("this is not an email: it has no From address (send the raw message)")
    if mail.message_id and not await webhooks.first_receipt(
        session, "inbound-mail", mail.message_id[:200]
    ):
        return InboundApplied(kind=mail.kind, duplicate=True)
    if mail.bounce is not None:
        message = await _bounced_message(session, mail.bounce)
        contact = await _contact(session, message) if message else None
    else:
        message, contact = await _answered(session, mail)
    applied = InboundApplied(
        kind=mail.kind,
        message_id=message.id if message else None,
        contact_id=contact.id if contact else None,
    )
    if contact is None:
        return applied
    data = _data(mail, message)
    if mail.bounce is not None:
        assert message is not None
        detail = f"{mail.bounce.recipient}: {mail.bounce.status} {mail.bounce.reason}".strip()
        if not mark_bounced(message, detail) or not message.to_contact:
            await session.flush()
            return applied
        data["detail"] = detail
    elif mail.kind == InboundKind.reply and message is not None:
        await engagement.mark(session, message.id, engagement.Fact.replied, utcnow())
    event = _EVENTS[mail.kind]
    recorded = await contact_events.record(
        session, temporal, task_queue, contact, None, event, data=data
    )
    return applied.model_copy(update={"event": event, "event_id": recorded.event_id})


def _data(mail: InboundMail, message: Message | None) -> dict[str, Any]:
    data: dict[str, Any] = {"channel": Channel.email.value, "from": mail.sender}
    if message is not None:
        data["message_id"] = str(message.id)
    if mail.message_id:
        data["inbound_message_id"] = mail.message_id
    if mail.subject:
        data["subject"] = mail.subject
    if mail.text:
        data["text"] = mail.text
    if mail.auto_reason:
        data["auto_reply"] = mail.auto_reason
    return data


async def _sent(session: AsyncSession, message_id: str) -> Message | None:
    message = await messages.by_provider_id(session, message_id)
    return message if message is not None and message.channel == Channel.email else None


async def _bounced_message(session: AsyncSession, bounce: Bounce) -> Message | None:
    if bounce.original_message_id:
        return await _sent(session, bounce.original_message_id)
    return None


async def _answered(
    session: AsyncSession, mail: InboundMail
) -> tuple[Message | None, Contact | None]:
    for message_id in mail.answers:
        message = await _sent(session, message_id)
        if message is not None and not message.to_contact:
            return None, None  # staff answering a notification about the contact
        if message is not None:
            return message, await _contact(session, message)
    found = await contacts.with_email(session, mail.sender)
    if not found:
        return None, None
    return await messages.latest_email_to(session, found[0].id), found[0]


async def _contact(session: AsyncSession, message: Message) -> Contact | None:
    return await contacts.get_contact(session, message.contact_id)
