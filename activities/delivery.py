"""Handing outbox messages to their channel: recorded as queued before, as sent after.

A message already sent is never handed over again, and each provider gets the effect key
(email Message-ID, SMS/voice/fax idempotency token) so a send whose answer was lost is not
repeated either. A channel without a configured provider leaves its messages queued.
"""

import asyncio
import uuid
from datetime import timedelta
from typing import NoReturn

import aiosmtplib
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import DeliverInput, DeliverResult
from activities.email import SmtpSender
from activities.providers import PhoneProvider, ProviderRejected, ProviderUnavailable
from links import TRACKED_FOR, Links
from sequences import Channel
from store import messages, records
from store.db import SessionMaker, autocommit, transaction
from store.models import Contact, FulfillmentEntry, Message, MessageStatus, utcnow

# Longer than any one hand-over may take (SMTP and provider timeouts are shorter).
CLAIM = timedelta(minutes=1)
# Where printed letters wait for the mail house, unless the step names another list.
LETTERS_LIST = "Letters"


class DeliveryActivities:
    def __init__(
        self,
        sessionmaker: SessionMaker,
        email: SmtpSender | None,
        phone: PhoneProvider | None = None,
        links: Links | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._email = email
        self._phone = phone
        self._links = links

    @activity.defn
    async def deliver(self, request: DeliverInput) -> DeliverResult:
        """Send a queued message once; a message already sent is not sent again."""
        async with self._sessionmaker() as session:
            message = await session.get(Message, uuid.UUID(request.message_id))
        if message is None:
            raise ApplicationError(f"message {request.message_id} is gone", non_retryable=True)
        return await self.deliver_message(message)

    def hands_over(self, channel: str) -> bool:
        """Whether this worker has a provider for the channel."""
        return channel in self._channels()

    async def deliver_message(self, message: Message, *, claimed: bool = False) -> DeliverResult:
        """As deliver, given the message as it was just read or recorded; `claimed` when the
        caller claimed it for this attempt as it recorded it."""
        if message.status == MessageStatus.failed:
            # An earlier attempt failed for good and its result was lost (the worker died).
            raise ApplicationError(
                message.status_detail or "the message failed", non_retryable=True
            )
        if message.status != MessageStatus.queued:
            return DeliverResult(status=message.status)
        if self.hands_over(message.channel) and not claimed and not await self._claim(message.id):
            # Another attempt is handing it over right now; its outcome decides.
            raise ApplicationError(f"message {message.id} is being sent by another attempt")
        # Shielded: an attempt cancelled mid-send (its workflow task timed out) still finishes
        # and records the hand-over, so the next attempt finds the message sent, not queued.
        return await asyncio.shield(self._hand_over(message))

    async def _hand_over(self, message: Message) -> DeliverResult:
        try:
            match message.channel:
                case Channel.email if self._email is not None:
                    provider_id = await self._send_email(self._email, message)
                case Channel.sms | Channel.voice | Channel.fax if self._phone is not None:
                    provider_id = await self._send_by_phone(self._phone, message)
                case Channel.letter:
                    await self._print(message)
                    return DeliverResult(status=MessageStatus.queued)
                case _:
                    # No provider for this channel here: the message waits in the outbox.
                    return DeliverResult(status=MessageStatus.queued)
        except Exception:
            # This attempt did not hand it over (a failure marks it failed): the next may.
            await self._release(message.id)
            raise
        await self._mark(message.id, MessageStatus.sent, provider_id=provider_id)
        activity.logger.info("%s %s sent to %s", message.channel, message.id, message.to_address)
        activity.metric_meter().create_counter("messages_sent", "Messages handed over.").add(
            1, {"channel": message.channel}
        )
        return DeliverResult(status=MessageStatus.sent)

    def _channels(self) -> set[str]:
        """The channels this worker hands over to a provider."""
        phone = {Channel.sms, Channel.voice, Channel.fax} if self._phone else set()
        return phone | ({Channel.email} if self._email else set())

    async def _claim(self, message_id: uuid.UUID) -> bool:
        """Take the message for one attempt, so two attempts at once cannot both send it.

        The claim lapses, so an attempt that died mid-send does not hold the message forever.
        """
        async with autocommit(self._sessionmaker) as connection:
            return await messages.claim_message(connection, message_id, CLAIM)

    async def _release(self, message_id: uuid.UUID) -> None:
        async with autocommit(self._sessionmaker) as connection:
            await messages.update_message(connection, message_id, claimed_until=None)

    async def _send_email(self, sender: SmtpSender, message: Message) -> str:
        async with self._sessionmaker() as session:
            thread = await messages.thread_ids(session, message)
        try:
            email = sender.compose(
                effect_key=message.effect_key,
                to=message.to_address,
                subject=message.subject,
                body=message.body,
                html=message.html_body,
                sender=message.sender,
                reply_to=message.reply_to,
                # Staff notifications carry no unsubscribe link: only contacts opt out.
                unsubscribe_from=message.contact_id if message.to_contact else None,
                message=message.id,
                tracked_until=utcnow() + TRACKED_FOR if message.tracked else None,
                thread=[f"<{mid}>" for mid in thread],
            )
        except ApplicationError as refused:
            await self._fail(message, str(refused))
        try:
            await sender.send(email)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            await self._fail(message, f"the mail server refused {message.to_address}: {refused}")
        except aiosmtplib.SMTPResponseException as answer:
            # 5xx is the server's final word (552: too large, 554: rejected); 4xx may pass later.
            if answer.code >= 500:
                await self._fail(message, f"the mail server refused the message: {answer}")
            raise
        return str(email["Message-ID"]).strip("<>")

    async def _send_by_phone(self, phone: PhoneProvider, message: Message) -> str:
        try:
            return await phone.send(
                message.channel,
                message.to_address,
                message.body,
                idempotency_key=message.effect_key,
                status_callback=self._links.status_callback() if self._links else None,
                media_url=self._links.fax_document(message.id) if self._links else None,
            )
        except ProviderRejected as rejected:
            await self._fail(message, str(rejected))
        except ProviderUnavailable as unavailable:
            delay = unavailable.retry_after
            raise ApplicationError(
                str(unavailable),
                next_retry_delay=timedelta(seconds=delay) if delay else None,
            ) from unavailable

    async def _print(self, message: Message) -> None:
        """A letter joins the letters' fulfilment list; it counts as sent once fulfilled."""
        async with transaction(self._sessionmaker) as session:
            contact = await session.get(Contact, message.contact_id)
            if contact is None:
                raise ApplicationError(f"contact {message.contact_id} is gone", non_retryable=True)
            await records.insert_once(
                session,
                FulfillmentEntry(
                    effect_key=message.effect_key,
                    enrollment_id=message.enrollment_id,
                    contact_id=contact.id,
                    list_id=await records.fulfillment_list_id(session, LETTERS_LIST),
                    mailing_address=contact.mailing_address,
                    item="letter",
                ),
            )

    async def _fail(self, message: Message, reason: str) -> NoReturn:
        activity.logger.warning("%s %s failed for good: %s", message.channel, message.id, reason)
        await self._mark(message.id, MessageStatus.failed, detail=reason)
        raise ApplicationError(reason, non_retryable=True)

    async def _mark(
        self,
        message_id: uuid.UUID,
        status: MessageStatus,
        *,
        provider_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        # One statement, straight after the hand-over: the shorter the time between the two,
        # the smaller the chance a crash there makes a retry send the message again.
        values: dict[str, object] = {"status": status, "claimed_until": None}
        if provider_id:
            values["provider_id"] = provider_id
        if detail:
            values["status_detail"] = detail[:1000]
        if status == MessageStatus.sent:
            values["sent_at"] = utcnow()
        async with autocommit(self._sessionmaker) as connection:
            await messages.update_message(connection, message_id, **values)
