"""A communication step in one call: record it in the outbox, place it under the sending limits,
and hand it over when it may go now.

Each part keeps its own effect key, so the call as a whole is safe to retry. A step that keeps
the three apart would pay a workflow activation and a transaction per part.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import Dispatched, DispatchInput, ReserveInput
from activities.delivery import CLAIM, DeliveryActivities
from activities.messaging import MessagingActivities
from activities.sending import SendingActivities
from sequences import Recipient


class DispatchActivities:
    def __init__(
        self,
        messaging: MessagingActivities,
        sending: SendingActivities,
        delivery: DeliveryActivities,
    ) -> None:
        self._messaging = messaging
        self._sending = sending
        self._delivery = delivery

    async def dispatch(self, request: DispatchInput) -> Dispatched:
        """Queue the message and send it if its time is now; a held message is left to wait."""
        # A message that will go at once is claimed as it is recorded, in one transaction.
        at_once = self._delivery.hands_over(request.channel) and not self._sending.restrained(
            request.channel,
            request.sending,
            sent_by=request.sender.user_id,
            to_contact=request.send_to.who == Recipient.contact,
        )
        queued, message, claimed = await self._messaging.enqueue(
            request, claim_for=CLAIM if at_once else None
        )
        if message is None or queued.message_id is None:
            return Dispatched(**queued.model_dump())
        slot = await self._sending.reserve(
            ReserveInput(
                ref=request.ref,
                message_id=queued.message_id,
                channel=request.channel,
                sequence_id=request.sequence_id,
                sending=request.sending,
                timezone=request.timezone,
                now=request.now,
            ),
            message,
        )
        waiting = Dispatched(**queued.model_dump(), send_at=slot.send_at, held_because=slot.reason)
        if slot.send_at > request.now:
            return waiting
        try:
            delivered = await self._delivery.deliver_message(message, claimed=claimed)
        except Exception as error:
            if isinstance(error, ApplicationError) and error.non_retryable:
                raise
            # Recorded and placed: the workflow retries the hand-over alone, for as long as it
            # takes, rather than the whole step.
            activity.logger.warning("message %s not handed over yet: %s", queued.message_id, error)
            return waiting
        return waiting.model_copy(update={"status": delivered.status})
