"""The API's side of enrollments: what may be enrolled and steered, and by whom."""

import uuid
from collections.abc import Awaitable
from collections.abc import Sequence as Seq
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from enrolling.fan_out import signal_workflow
from enrolling.starts import EnrollResult, may_enroll_into, start_enrollments
from sequences import parse_definition
from store import enrollments, sequences
from store.models import Enrollment, EnrollmentStatus, Sequence, SequenceStatus, Task, User
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import NOT_APPLICABLE, NOT_AWAITED, StopRequest, TaskOutcome


async def sequence_to_enroll_into(
    session: AsyncSession, user: User, sequence_id: uuid.UUID
) -> Sequence:
    """The sequence, if the user may enroll into it: reps only where it is shared with them."""
    sequence = await sequences.get_sequence(session, sequence_id)
    if sequence is None:
        raise NotFound.of("sequence", sequence_id)
    if not await may_enroll_into(session, user, sequence_id):
        raise Forbidden(f"sequence {sequence_id} is not shared with you")
    return sequence


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
    return await start_enrollments(
        session,
        temporal,
        task_queue,
        sequence,
        version.version,
        definition,
        contact_ids,
        user.id,
        event_date,
    )


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
