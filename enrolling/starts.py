"""Starting enrollments: one workflow per contact, and the projection rows the API reads."""

import asyncio
import uuid
from collections.abc import Sequence as Seq
from datetime import date
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from sequences import Reentry, SequenceDefinition
from store import contacts, enrollments, sequences
from store.models import Contact, Enrollment, Role, Sequence, User
from workflows import search_attributes as sa
from workflows.state import ENROLLMENT_WORKFLOW, EnrollmentInput, Status, workflow_id_for

# Starts in flight at once for a bulk enrollment: enough to hide round trips, few enough
# to leave the frontend's capacity to others.
START_CONCURRENCY = 32


class EnrollOutcome(StrEnum):
    enrolled = "enrolled"
    already_enrolled = "already_enrolled"
    reentry_not_allowed = "reentry_not_allowed"
    do_not_contact = "do_not_contact"
    not_found = "not_found"


class EnrollResult(BaseModel):
    contact_id: uuid.UUID
    outcome: EnrollOutcome
    enrollment_id: uuid.UUID | None = None


async def may_enroll_into(session: AsyncSession, user: User, sequence_id: uuid.UUID) -> bool:
    """Reps enroll only into sequences shared with them; everyone else into any."""
    return user.role != Role.rep or await sequences.is_shared_with(session, sequence_id, user.id)


async def start_enrollments(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    sequence: Sequence,
    version: int,
    definition: SequenceDefinition,
    contact_ids: Seq[uuid.UUID],
    enrolled_by: uuid.UUID,
    event_date: date | None = None,
) -> list[EnrollResult]:
    """Start the workflow of each contact that may enter the published `version`, then insert
    their rows in the session (the workflow writes its row too, so a failed commit loses none);
    each contact's outcome in the order given, a contact listed twice enrolled once."""
    no_reentry = definition.settings.reentry == Reentry.never
    unique_ids = list(dict.fromkeys(contact_ids))
    found = await contacts.contacts_by_id(session, unique_ids)
    been_through = (
        await enrollments.contacts_ever_enrolled(session, sequence.id, unique_ids)
        if no_reentry
        else set()
    )
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(contact: Contact) -> Enrollment | None:
        enrollment = Enrollment(
            sequence_id=sequence.id,
            version=version,
            enrolled_version=version,
            contact_id=contact.id,
            workflow_id=workflow_id_for(str(sequence.id), str(contact.id)),
            enrolled_by=enrolled_by,
        )
        workflow_input = EnrollmentInput(
            enrollment_id=str(enrollment.id),
            contact_id=str(contact.id),
            sequence_id=str(sequence.id),
            version=version,
            definition=definition,
            enrolled_by=str(enrolled_by),
            event_date=event_date,
        )
        async with gate:
            try:
                await temporal.start_workflow(
                    ENROLLMENT_WORKFLOW,
                    workflow_input,
                    id=enrollment.workflow_id,
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
                    if no_reentry
                    else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(sa.CONTACT_ID, str(contact.id)),
                            SearchAttributePair(sa.SEQUENCE_ID, str(sequence.id)),
                            SearchAttributePair(sa.SEQUENCE_VERSION, version),
                            SearchAttributePair(sa.ENROLLMENT_STATUS, str(Status.active)),
                            SearchAttributePair(sa.ENROLLMENT_ID, str(enrollment.id)),
                        ]
                    ),
                    memo={"contact": contact.display_name, "sequence": sequence.name},
                    static_summary=f"{contact.display_name} in {sequence.name} v{version}",
                )
            except WorkflowAlreadyStartedError:
                return None
        return enrollment

    channels = definition.channels_to_contact()
    opted_out = {
        cid
        for cid, contact in found.items()
        if channels and channels <= set(contact.do_not_contact)
    }
    unique_found = [
        found[cid]
        for cid in unique_ids
        if cid in found and cid not in been_through and cid not in opted_out
    ]
    started = dict(
        zip(
            (c.id for c in unique_found),
            await asyncio.gather(*(start(contact) for contact in unique_found)),
            strict=True,
        )
    )

    results = []
    enrolled: dict[uuid.UUID, Enrollment] = {}
    for contact_id in contact_ids:
        if contact_id not in found:
            results.append(EnrollResult(contact_id=contact_id, outcome=EnrollOutcome.not_found))
            continue
        if contact_id in opted_out:
            results.append(
                EnrollResult(contact_id=contact_id, outcome=EnrollOutcome.do_not_contact)
            )
            continue
        if contact_id in been_through:
            results.append(
                EnrollResult(contact_id=contact_id, outcome=EnrollOutcome.reentry_not_allowed)
            )
            continue
        enrollment = started[contact_id]
        if enrollment is None:
            existing = enrolled.get(contact_id) or await enrollments.active_enrollment(
                session, sequence.id, contact_id
            )
            results.append(
                EnrollResult(
                    contact_id=contact_id,
                    outcome=EnrollOutcome.already_enrolled,
                    enrollment_id=existing.id if existing else None,
                )
            )
            continue
        enrolled[contact_id] = enrollment
        results.append(
            EnrollResult(
                contact_id=contact_id, outcome=EnrollOutcome.enrolled, enrollment_id=enrollment.id
            )
        )
        started[contact_id] = None  # a contact listed twice is enrolled once
    await enrollments.insert_enrollments(session, list(enrolled.values()))
    return results
