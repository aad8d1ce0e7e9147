"""Starting and signalling enrollment workflows, keeping the projection in step."""

import asyncio
import uuid
from collections.abc import Awaitable
from collections.abc import Sequence as Seq
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, Invalid, NotFound, Unavailable
from api.schemas.enrollments import EnrollOutcome, EnrollResult
from sequences import Reentry, parse_definition
from store import contacts, enrollments, sequences
from store.models import (
    Contact,
    Enrollment,
    EnrollmentStatus,
    Role,
    Sequence,
    SequenceStatus,
    Task,
    User,
)
from workflows import search_attributes as sa
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import (
    NOT_APPLICABLE,
    NOT_AWAITED,
    EnrollmentInput,
    Status,
    StopRequest,
    TaskOutcome,
    workflow_id_for,
)

# Starts in flight at once for a bulk enrollment: enough to hide round trips, few enough
# to leave the frontend's capacity to others.
START_CONCURRENCY = 32


async def enroll(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    sequence: Sequence,
    contact_ids: Seq[uuid.UUID],
    user: User,
    event_date: date | None = None,
) -> list[EnrollResult]:
    if sequence.status == SequenceStatus.archived:
        raise Conflict(f"sequence {sequence.id} is archived; publish it again to enroll contacts")
    if sequence.status != SequenceStatus.published or sequence.latest_version is None:
        raise Conflict(
            f"sequence {sequence.id} is not published; publish it before enrolling contacts"
        )
    version = await sequences.get_version(session, sequence.id, sequence.latest_version)
    assert version is not None
    definition = parse_definition(version.definition)
    if event_date is None and definition.uses_event_date():
        raise Invalid(
            "event_date: this sequence has event timers, so give the date they count from"
        )
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
            version=version.version,
            contact_id=contact.id,
            workflow_id=workflow_id_for(str(sequence.id), str(contact.id)),
            enrolled_by=user.id,
        )
        workflow_input = EnrollmentInput(
            enrollment_id=str(enrollment.id),
            contact_id=str(contact.id),
            sequence_id=str(sequence.id),
            version=version.version,
            definition=definition,
            enrolled_by=str(user.id),
            event_date=event_date,
        )
        async with gate:
            try:
                await temporal.start_workflow(
                    EnrollmentWorkflow.run,
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
                            SearchAttributePair(sa.SEQUENCE_VERSION, version.version),
                            SearchAttributePair(sa.ENROLLMENT_STATUS, str(Status.active)),
                            SearchAttributePair(sa.ENROLLMENT_ID, str(enrollment.id)),
                        ]
                    ),
                    memo={"contact": contact.display_name, "sequence": sequence.name},
                    static_summary=f"{contact.display_name} in {sequence.name} v{version.version}",
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


async def may_enroll_into(session: AsyncSession, user: User, sequence_id: uuid.UUID) -> bool:
    """Reps enroll only into sequences shared with them; everyone else into any."""
    return user.role != Role.rep or await sequences.is_shared_with(session, sequence_id, user.id)


async def get_or_404(session: AsyncSession, enrollment_id: uuid.UUID) -> Enrollment:
    enrollment = await enrollments.get_enrollment(session, enrollment_id)
    if enrollment is None:
        raise NotFound.of("enrollment", enrollment_id)
    return enrollment


_SIGNALS = {
    # signal: (statuses it applies to, what to say otherwise)
    "reactivate": ({EnrollmentStatus.stopped}, "only a stopped enrollment can be reactivated"),
    "retry": ({EnrollmentStatus.failed}, "only a failed enrollment can be retried"),
}


async def signal(temporal: Client, enrollment: Enrollment, name: str, *args: object) -> None:
    """Send a control signal after checking the projection says it applies."""
    allowed, explanation = _SIGNALS[name]
    if enrollment.status not in allowed:
        raise Conflict(f"enrollment {enrollment.id} is {enrollment.status.value}; {explanation}")
    if not await signal_workflow(temporal, enrollment.workflow_id, name, *args):
        raise Conflict(f"enrollment {enrollment.id} has already ended")


def _handle(temporal: Client, workflow_id: str) -> WorkflowHandle[EnrollmentWorkflow, object]:
    return temporal.get_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)


async def signal_workflow(temporal: Client, workflow_id: str, name: str, *args: object) -> bool:
    """Signal an enrollment's running workflow; False when it has already finished."""
    try:
        await _handle(temporal, workflow_id).signal(name, *args)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def stop(temporal: Client, enrollment: Enrollment, request: StopRequest) -> None:
    """Stop through the workflow, which closes the open to-dos as asked and says at once when
    the enrollment was no longer running (the projection may lag by a moment)."""
    handle = _handle(temporal, enrollment.workflow_id)
    if not await _updated(handle.execute_update(EnrollmentWorkflow.stop, request)):
        raise Conflict(f"enrollment {enrollment.id} has already ended")


async def record_task_outcome(temporal: Client, task: Task, outcome: TaskOutcome) -> bool:
    """Hand a to-do's result to the run waiting for it, which records it on the to-do and
    steers by it; False when no run waits for it (its enrollment ended, or there is none)."""
    if not task.workflow_id:
        return False
    handle = _handle(temporal, task.workflow_id)
    return await _updated(handle.execute_update(EnrollmentWorkflow.task_outcome, outcome))


async def _updated(update: Awaitable[None]) -> bool:
    """Whether a running workflow took the update; its refusal is the caller's conflict."""
    try:
        await update
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == NOT_AWAITED:
            return False
        if isinstance(cause, ApplicationError) and cause.type == NOT_APPLICABLE:
            raise Conflict(cause.message) from None
        raise Unavailable("the enrollment could not record this now; send it again") from None
    return True
