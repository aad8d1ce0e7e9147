"""Activities that change the contact's CRM records."""

import uuid
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.contracts import ApplyTagInput, EnrollmentRef, ProcessInput
from activities.merging import merge_values
from sequences import CONTACT_ATTRIBUTES, TASK_KIND, AssignTo, TaskStep
from sequences.actions import (
    AppointmentStep,
    AssignOwnerStep,
    CreateTaskStep,
    FulfillmentStep,
    NoteStep,
    OpportunityStep,
    OrderStep,
    RemoveTagStep,
    SetFieldStep,
)
from sequences.merge import render
from store import contacts, effects, records, tasks
from store.db import SessionMaker, transaction
from store.models import (
    Appointment,
    Contact,
    FulfillmentEntry,
    Note,
    Opportunity,
    Order,
    SequenceRecord,
    Task,
)

Owned = TypeVar("Owned", bound=SequenceRecord)


class ContactGone(ApplicationError):
    def __init__(self, contact_id: str) -> None:
        super().__init__(f"contact {contact_id} no longer exists", non_retryable=True)


async def load_contact(session: AsyncSession, ref: EnrollmentRef) -> Contact:
    contact = await contacts.get_contact(session, uuid.UUID(ref.contact_id))
    if contact is None:
        raise ContactGone(ref.contact_id)
    return contact


async def tag_once(session: AsyncSession, request: ApplyTagInput) -> bool:
    """Whether this effect gave the contact the tag (False: it had it, or this is a retry)."""
    ref = request.ref
    contact_id = uuid.UUID(ref.contact_id)
    claimed, tagged = await contacts.claim_and_tag(
        session, ref.effect_key, uuid.UUID(ref.enrollment_id), contact_id, request.tag
    )
    if not claimed:
        return False
    if tagged or await contacts.apply_tag(session, contact_id, request.tag):
        return True
    await load_contact(session, ref)  # a contact gone fails the step rather than passing quietly
    return False


class CrmActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def run_process(self, request: ProcessInput) -> dict[str, Any]:
        """Write the record a process step describes, once per effect key; returns what it did."""
        ref = request.ref
        async with transaction(self._sessionmaker) as session:
            contact = await load_contact(session, ref)
            if not await effects.claim_effect(
                session, ref.effect_key, uuid.UUID(ref.enrollment_id)
            ):
                return {"already_done": True}
            return await _Process(session, contact, request).run()


class _Process:
    """One process step applied to one contact inside one transaction."""

    def __init__(self, session: AsyncSession, contact: Contact, request: ProcessInput) -> None:
        self.session, self.contact, self.request = session, contact, request
        self.enrollment_id = uuid.UUID(request.ref.enrollment_id)
        self.key = request.ref.effect_key

    async def run(self) -> dict[str, Any]:
        step = self.request.step
        match step:
            case RemoveTagStep():
                return {
                    "removed": await contacts.remove_tag(self.session, self.contact.id, step.tag)
                }
            case NoteStep():
                body = render(step.body, await merge_values(self.session, self.contact))
                stamp = self.request.now.strftime("%Y-%m-%d %H:%M UTC")
                await records.insert_once(
                    self.session,
                    self._own(Note(contact_id=self.contact.id, body=f"{stamp}: {body}")),
                )
                return {}
            case CreateTaskStep():
                task = Task(
                    effect_key=self.key,
                    contact_id=self.contact.id,
                    enrollment_id=self.enrollment_id,
                    step_id=step.id,
                    # A to-do like a task step's, which a process step leaves for someone.
                    kind=TASK_KIND,
                    title=await self._render(step.title),
                    instructions=step.instructions,
                    assigned_to=await self._assignee(step.assign_to),
                    due_at=self.request.now + step.due_in,
                    allowed_results=list(TaskStep.RESULTS),
                )
                stored = await tasks.create_task(self.session, task)
                return {"task_id": str(stored.id)}
            case AppointmentStep():
                starts = self.request.now + step.starts_in
                await records.insert_once(
                    self.session,
                    self._own(
                        Appointment(
                            contact_id=self.contact.id,
                            owner_id=await self._assignee(step.assign_to),
                            title=await self._render(step.title),
                            location=step.location,
                            starts_at=starts,
                            ends_at=starts + step.duration,
                        )
                    ),
                )
                return {"starts_at": starts.isoformat()}
            case SetFieldStep():
                return await self._set_field(step)
            case AssignOwnerStep():
                turn = await records.next_turn(
                    self.session, f"{self.request.sequence_id}:{step.id}"
                )
                self.contact.owner_id = step.round_robin[turn % len(step.round_robin)]
                return {"owner_id": str(self.contact.owner_id)}
            case OpportunityStep():
                await records.insert_once(
                    self.session,
                    self._own(
                        Opportunity(
                            contact_id=self.contact.id,
                            owner_id=await self._assignee(step.assign_to),
                            title=await self._render(step.title),
                            stage=step.stage,
                            value=step.value,
                        )
                    ),
                )
                return {}
            case FulfillmentStep():
                list_id = await records.fulfillment_list_id(self.session, step.list_name)
                await records.insert_once(
                    self.session,
                    self._own(
                        FulfillmentEntry(
                            list_id=list_id,
                            contact_id=self.contact.id,
                            mailing_address=self.contact.mailing_address,
                        )
                    ),
                )
                return {"list": step.list_name}
            case OrderStep():
                total = sum(
                    (item.quantity * item.unit_price for item in step.items), start=Decimal(0)
                )
                items = [
                    {k: records.as_json(v) for k, v in i.model_dump().items()} for i in step.items
                ]
                await records.insert_once(
                    self.session,
                    self._own(
                        Order(
                            contact_id=self.contact.id,
                            items=items,
                            total=total,
                            payment=step.payment,
                        )
                    ),
                )
                return {"total": str(total), "payment": step.payment.value}
        raise ApplicationError(f"{step.kind} is not a process step", non_retryable=True)

    def _own(self, record: Owned) -> Owned:
        record.effect_key, record.enrollment_id = self.key, self.enrollment_id
        return record

    async def _render(self, template: str) -> str:
        return render(template, await merge_values(self.session, self.contact))

    async def _assignee(self, assign_to: AssignTo) -> uuid.UUID | None:
        enrolled_by = self.request.enrolled_by
        return await tasks.resolve_assignee(
            self.session, self.contact, assign_to, uuid.UUID(enrolled_by) if enrolled_by else None
        )

    async def _set_field(self, step: SetFieldStep) -> dict[str, Any]:
        value = step.value
        if isinstance(value, str):
            value = await self._render(value)
        if step.field in CONTACT_ATTRIBUTES:
            setattr(self.contact, step.field, None if value is None else str(value))
        else:
            # A new dict so the ORM sees the JSONB column change.
            self.contact.fields = {**self.contact.fields, step.field: value}
        return {"field": step.field, "value": value}
