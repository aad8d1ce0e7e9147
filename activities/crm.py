"""Activities that change the contact's CRM records and send communications."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ApplyTagInput,
    ApplyTagResult,
    EnrollmentRef,
    SendEmailInput,
    SendEmailResult,
)
from sequences.merge import render
from store import contacts, effects, messages
from store.db import SessionMaker, transaction
from store.models import Contact, Message


class ContactGone(ApplicationError):
    def __init__(self, contact_id: str) -> None:
        super().__init__(f"contact {contact_id} no longer exists", non_retryable=True)


def merge_values(contact: Contact) -> dict[str, str]:
    return {
        "contact.first_name": contact.first_name,
        "contact.last_name": contact.last_name,
        "contact.full_name": contact.full_name,
        "contact.email": contact.email or "",
        "contact.phone": contact.phone or "",
    }


class CrmActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def _contact(self, session: AsyncSession, ref: EnrollmentRef) -> Contact:
        contact = await contacts.get_contact(session, uuid.UUID(ref.contact_id))
        if contact is None:
            raise ContactGone(ref.contact_id)
        return contact

    @activity.defn
    async def send_email(self, request: SendEmailInput) -> SendEmailResult:
        """Render the email for the contact and put it in the outbox, once per effect key."""
        async with transaction(self._sessionmaker) as session:
            contact = await self._contact(session, request.ref)
            if not contact.email:
                raise ApplicationError(
                    f"contact {contact.id} has no email address", non_retryable=True
                )
            values = merge_values(contact)
            stored = await messages.enqueue_message(
                session,
                Message(
                    effect_key=request.ref.effect_key,
                    enrollment_id=uuid.UUID(request.ref.enrollment_id),
                    contact_id=contact.id,
                    channel="email",
                    to_address=contact.email,
                    subject=render(request.subject, values),
                    body=render(request.body, values),
                ),
            )
        return SendEmailResult(message_id=str(stored.id), to_address=stored.to_address)

    @activity.defn
    async def apply_tag(self, request: ApplyTagInput) -> ApplyTagResult:
        """Apply a tag to the contact, once per effect key."""
        async with transaction(self._sessionmaker) as session:
            contact = await self._contact(session, request.ref)
            first_time = await effects.claim_effect(
                session, request.ref.effect_key, uuid.UUID(request.ref.enrollment_id)
            )
            applied = first_time and await contacts.apply_tag(session, contact.id, request.tag)
        return ApplyTagResult(tag=request.tag, applied=applied)
