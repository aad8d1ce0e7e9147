"""Communications: each is rendered and recorded in the outbox once per effect key.

The outbox row is the record of what was sent to whom, from whom, and why a message was not
sent (the contact opted out of the channel); delivery hands it to its channel afterwards.
"""

import uuid
from datetime import timedelta
from email.utils import formataddr

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.contracts import MessageResult, SendMessageInput
from activities.crm import ContactGone
from activities.merging import merge_values
from sequences import Channel, Recipient
from sequences.merge import render
from sequences.sending import Sender
from store import contacts, messages
from store.db import SessionMaker, transaction
from store.models import Contact, Message, User

# JSONB keeps no key order, so the postal order is spelled out.
ADDRESS_ORDER = ("line1", "line2", "city", "region", "postal_code", "country")


def _contact_address(contact: Contact, channel: Channel) -> str | None:
    match channel:
        case Channel.email:
            return contact.email
        case Channel.sms | Channel.voice:
            return contact.phone
        case Channel.fax:
            return contact.fax
        case Channel.letter:
            address = contact.mailing_address
            return ", ".join(str(address[k]) for k in ADDRESS_ORDER if address.get(k)) or None


_ADDRESS_NAMES = {
    Channel.email: "email address",
    Channel.sms: "phone number",
    Channel.voice: "phone number",
    Channel.fax: "fax number",
    Channel.letter: "mailing address",
}


class MessagingActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def enqueue(
        self, request: SendMessageInput, *, claim_for: timedelta | None = None
    ) -> tuple[MessageResult, Message | None, bool]:
        """Render a communication on any channel and put it in the outbox, once per effect key:
        what to record of it, the outbox row (None when skipped), and whether it claimed the
        row for the caller to hand over (see enqueue_message)."""
        ref, channel = request.ref, request.channel
        async with transaction(self._sessionmaker) as session:
            contact = await contacts.get_contact(session, uuid.UUID(ref.contact_id))
            if contact is None:
                raise ContactGone(ref.contact_id)
            to_contact = request.send_to.who == Recipient.contact
            if to_contact and channel in contact.do_not_contact:
                skipped = f"the contact asked not to be contacted by {channel}"
                return MessageResult(skipped=skipped), None, False
            address = await self._address(session, contact, request)
            sender, sent_by = await self._sender(session, request.sender)
            values = await merge_values(session, contact)
            subject = render(request.subject, values)
            earlier = await self._thread(session, request)
            if earlier is not None and not subject.strip():
                subject = (
                    earlier.subject
                    if earlier.subject.startswith("Re:")
                    else f"Re: {earlier.subject}"
                )
            stored, claimed = await messages.enqueue_message(
                session,
                Message(
                    effect_key=ref.effect_key,
                    enrollment_id=uuid.UUID(ref.enrollment_id),
                    contact_id=contact.id,
                    channel=channel,
                    to_address=address,
                    to_contact=to_contact,
                    subject=subject,
                    body=render(request.body, values),
                    html_body=render(request.html, values, html=True) if request.html else None,
                    sender=sender,
                    reply_to=request.sender.reply_to,
                    sent_by=sent_by,
                    tracked=request.tracked,
                    thread_of=earlier.id if earlier else None,
                ),
                claim_for=claim_for,
            )
        result = MessageResult(message_id=str(stored.id), to_address=stored.to_address)
        return result, stored, claimed

    async def _thread(self, session: AsyncSession, request: SendMessageInput) -> Message | None:
        """The earlier message of this enrollment whose thread the message continues: the step
        may not have sent one (it was skipped), and then the message starts its own."""
        if request.thread_of is None:
            return None
        return await messages.latest_of_step(
            session, uuid.UUID(request.ref.enrollment_id), request.thread_of
        )

    async def _sender(
        self, session: AsyncSession, sender: Sender
    ) -> tuple[str | None, uuid.UUID | None]:
        """The From header (None: the server's default) and the user whose daily cap it counts on."""
        if sender.user_id is not None:
            user = await session.get(User, sender.user_id)
            if user is None:
                raise ApplicationError(
                    f"the sequence sends as user {sender.user_id}, who no longer exists",
                    non_retryable=True,
                )
            return formataddr((sender.name or user.name, user.email)), user.id
        if sender.address or sender.name:
            # A name alone keeps the server's address: the deliverer fills it in.
            return formataddr((sender.name, sender.address or "")), None
        return None, None

    async def _address(
        self, session: AsyncSession, contact: Contact, request: SendMessageInput
    ) -> str:
        send_to = request.send_to
        match send_to.who:
            case Recipient.contact:
                address = _contact_address(contact, request.channel)
                whose = f"contact {contact.id}"
            case Recipient.address:
                address, whose = send_to.address, "the step"
            case Recipient.owner | Recipient.user:
                user_id = contact.owner_id if send_to.who == Recipient.owner else send_to.user_id
                user = await session.get(User, user_id) if user_id else None
                address = user.email if user else None
                whose = f"the {send_to.who.value} of contact {contact.id}"
        if not address:
            raise ApplicationError(
                f"{whose} has no {_ADDRESS_NAMES[request.channel]}",
                non_retryable=True,
            )
        return address
