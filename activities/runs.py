"""Steps that follow one another with nothing to wait for, run in one local activity.

Each step keeps its effect key and its own transactions, exactly as when it runs alone, so a
retried run does nothing twice. What a run saves is the workflow's round trip per step: one
activation and one call instead of one per step, plus the projection write the workflow would
make before it waits (the run writes it last, once every step is done).

A run that ends the enrollment writes its end too, rather than leave it to one more call.

A run ends early at a step that cannot finish now: a message held by the sending limits (or
whose hand-over failed for now), or a step that failed for good. The workflow takes over there.
"""

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    DispatchInput,
    EnrollmentRef,
    ProcessInput,
    ProjectionBatch,
    RunStep,
    StepOutcome,
    StepRunInput,
    StepRunResult,
    TagAndAnnounceInput,
)
from activities.crm import CrmActivities
from activities.dispatch import DispatchActivities
from activities.events import EventActivities
from activities.projection import ProjectionActivities
from sequences import ApplyTagStep, CommunicationStep
from sequences.merge import TemplateRenderError


class StepRunActivities:
    def __init__(
        self,
        dispatch: DispatchActivities,
        events: EventActivities,
        crm: CrmActivities,
        projection: ProjectionActivities,
    ) -> None:
        self._dispatch = dispatch
        self._events = events
        self._crm = crm
        self._projection = projection

    @activity.defn
    async def run_steps(self, request: StepRunInput) -> StepRunResult:
        """Run the steps in order until one cannot finish now; write the projection if all did."""
        outcomes: list[StepOutcome] = []
        for planned in request.steps:
            try:
                outcome = await self._run(request, planned)
            except (ApplicationError, TemplateRenderError) as error:
                if isinstance(error, ApplicationError) and not error.non_retryable:
                    raise
                outcome = StepOutcome(step_id=planned.step.id, failure=_message(error))
            outcomes.append(outcome)
            if not outcome.finished:
                break
        records = [planned.record for planned in request.steps]
        projected = (
            len(outcomes) == len(request.steps)
            and all(outcome.finished for outcome in outcomes)
            and all(record is not None for record in records)
        )
        if not projected:
            return StepRunResult(outcomes=outcomes, projected=False)
        updates = list(request.queued)
        for record, outcome in zip(records, outcomes, strict=True):
            assert record is not None and record.event is not None
            event = record.event.model_copy(update={"detail": outcome.detail})
            updates.append(record.model_copy(update={"event": event}))
        finished_at = datetime.now(UTC)
        due = updates[-1].next_due_at
        if request.then_waits is not None:
            due = min(d for d in (due, finished_at + request.then_waits) if d is not None)
        updates[-1] = updates[-1].model_copy(update={"next_due_at": due})
        if request.ending is not None:
            updates.append(request.ending.model_copy(update={"ended_at": finished_at}))
        await self._projection.record_progress_batch(ProjectionBatch(updates=updates))
        return StepRunResult(
            outcomes=outcomes, projected=True, finished_at=finished_at, next_due_at=due
        )

    async def _run(self, request: StepRunInput, planned: RunStep) -> StepOutcome:
        step = planned.step
        ref = EnrollmentRef(
            enrollment_id=request.enrollment_id,
            contact_id=request.contact_id,
            effect_key=planned.effect_key,
        )
        if isinstance(step, CommunicationStep):
            sent = await self._dispatch.dispatch(
                DispatchInput.of_step(
                    step,
                    ref,
                    sequence_id=request.sequence_id,
                    sending=request.sending,
                    timezone=request.timezone,
                    now=request.now,
                )
            )
            detail = sent.step_detail()
            if detail is None:
                return StepOutcome(step_id=step.id, waiting=sent)
            return StepOutcome(step_id=step.id, detail=detail)
        if isinstance(step, ApplyTagStep):
            tagged = await self._events.tag_and_announce(
                TagAndAnnounceInput(
                    ref=ref,
                    tag=step.tag,
                    enrolled_by=request.enrolled_by,
                    announcer=request.announcer,
                )
            )
            return StepOutcome(step_id=step.id, tag_applied=step.tag if tagged.applied else None)
        done = await self._crm.run_process(
            ProcessInput(
                ref=ref,
                step=step,
                sequence_id=request.sequence_id,
                enrolled_by=request.enrolled_by,
                now=request.now,
            )
        )
        return StepOutcome(step_id=step.id, detail=done)


def _message(error: Exception) -> str:
    return str(error.message if isinstance(error, ApplicationError) else error)
