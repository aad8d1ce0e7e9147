"""Handing outbox messages to their channel: recorded as queued before, as sent after."""

import uuid

import aiosmtplib
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import DeliverInput, DeliverResult
from activities.email import SmtpSender
from store.db import SessionMaker, transaction
from store.models import Message, MessageStatus, utcnow


class DeliveryActivities:
    def __init__(self, sessionmaker: SessionMaker, email: SmtpSender | None) -> None:
        self._sessionmaker = sessionmaker
        self._email = email

    @activity.defn
    async def deliver(self, request: DeliverInput) -> DeliverResult:
        """Send a queued message once; a message already sent is not sent again."""
        async with self._sessionmaker() as session:
            message = await session.get(Message, uuid.UUID(request.message_id))
        if message is None:
            raise ApplicationError(f"message {request.message_id} is gone", non_retryable=True)
        if message.status != MessageStatus.queued:
            return DeliverResult(status=message.status)
        if message.channel != "email" or self._email is None:
            # No provider for this channel here: the message waits in the outbox.
            return DeliverResult(status=MessageStatus.queued)
        email = self._email.compose(
            effect_key=message.effect_key,
            to=message.to_address,
            subject=message.subject,
            body=message.body,
            # Staff notifications carry no unsubscribe link: only contacts opt out.
            unsubscribe_from=message.contact_id if message.to_contact else None,
        )
        try:
            await self._email.send(email)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            await self._mark(message.id, MessageStatus.failed)
            raise ApplicationError(
                f"the mail server refused {message.to_address}: {refused}", non_retryable=True
            ) from refused
        await self._mark(message.id, MessageStatus.sent)
        return DeliverResult(status=MessageStatus.sent)

    async def _mark(self, message_id: uuid.UUID, status: MessageStatus) -> None:
        async with transaction(self._sessionmaker) as session:
            message = await session.get(Message, message_id, with_for_update=True)
            assert message is not None
            message.status = status
            if status == MessageStatus.sent:
                message.sent_at = utcnow()
