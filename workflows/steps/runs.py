"""Effects: communications, tags and CRM records run in step runs; HTTP posts on their own.

Consecutive steps that neither wait nor branch run in one local activity (activities/runs.py),
which also writes their projection records where the track goes on after them, so the track
waits without another write; a step retried after it failed for good is a run of one. The
workflow takes over at a step the run could not finish: a message the sending limits hold, or
a step that failed for good.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

import workflows.calls as calls
from activities.contracts import (
    EnrollmentRef,
    HttpPostInput,
    ProjectionUpdate,
    RunStep,
    StepOutcome,
    StepRunInput,
)
from sequences import (
    ApplyTagStep,
    CommunicationStep,
    EventType,
    HttpPostStep,
    Outcome,
    ProcessStep,
    Step,
    Track,
)
from workflows.state import ContactEventSignal, Status, TrackState
from workflows.steps import messages, waits
from workflows.steps.context import StepContext, StepDone

# The most steps one run takes.
RUN_LENGTH = 20
# The steps a run can take: effects that neither wait nor branch.
RunnableStep = CommunicationStep | ApplyTagStep | ProcessStep
Attempt = Callable[[], Awaitable[StepDone]]


@dataclass
class RunResult:
    """The steps a run finished, and the step it ended at with the rest of that step's attempt,
    for the workflow to take over."""

    finished: list[tuple[RunnableStep, StepDone]] = field(default_factory=list)
    take_over: tuple[RunnableStep, Attempt] | None = None


def plan(run: StepContext, track: Track, step: Step) -> list[RunnableStep]:
    """The step and those after it that can run in one call, up to one that ends the enrollment
    or may (a tag one of its exit rules watches for); none if the step cannot."""
    steps: list[RunnableStep] = []
    current: Step | None = step
    while isinstance(current, RunnableStep) and len(steps) < RUN_LENGTH:
        if any(s.id == current.id for s in steps):
            break
        steps.append(current)
        if current.then.end is not None or _exits_on(run, current):
            break
        following = track.following(current, current.then)
        current = track.step(following) if following is not None else None
    return steps


async def run_steps(
    run: StepContext, track: Track, steps: list[RunnableStep], position: TrackState
) -> RunResult:
    """Run the steps in one call; what it finished, and where the workflow takes over."""
    await run.wait_until_active(position)
    ends = _ends_enrollment(run, track, steps[-1])
    records = _records_ahead(run, track, steps, ends_enrollment=ends)
    ending = _ending(run, steps[-1]) if ends else None
    queued = run.projection.take_pending() if records else []
    waiting = waits.fixed_length(_after(track, steps[-1])) if records else None
    settings = run.input.definition.settings
    request = StepRunInput(
        enrollment_id=run.input.enrollment_id,
        contact_id=run.input.contact_id,
        sequence_id=run.input.sequence_id,
        enrolled_by=run.input.enrolled_by,
        announcer=workflow.info().workflow_id,
        sending=settings.sending,
        timezone=settings.timezone,
        now=workflow.now(),
        steps=[
            RunStep(
                step=step,
                effect_key=run.effect_key(track.id, step.id, position),
                record=records[n] if records else None,
            )
            for n, step in enumerate(steps)
        ],
        queued=queued,
        then_waits=waits.wait_length(waiting) if waiting else None,
        ending=ending,
    )
    try:
        outcome = await run.locally(calls.run_steps(request))
    except calls.STEP_FAILURES as error:
        run.projection.put_back(queued)
        return RunResult(take_over=(steps[0], _raise(error)))
    if not outcome.projected:
        run.projection.put_back(queued)
    result = RunResult()
    for step, done in zip(steps, outcome.outcomes, strict=False):
        if not done.finished:
            result.take_over = (step, _taking_over(run, step, done, track.id, position))
            return result
        heard = _heard(done.tag_applied)
        result.finished.append((step, StepDone(step.then, done.detail, heard, outcome.projected)))
    if outcome.projected:
        run.projection.written_by_run(outcome.next_due_at, ended=ending is not None)
        if ending is not None:
            run.end_written = ending.revision
        if waiting is not None and outcome.finished_at is not None:
            # The wait the track goes on to counts from the run's end, as the projection shows.
            waits.begin_wait(waiting, position, outcome.finished_at)
    return result


async def run_one(
    run: StepContext, track: Track, step: RunnableStep, position: TrackState
) -> StepDone:
    """A step run of one step: one retried after it failed for good."""
    result = await run_steps(run, track, [step], position)
    if result.take_over is not None:
        return await result.take_over[1]()
    [(_, done)] = result.finished
    return done


async def http_post(run: StepContext, step: HttpPostStep, ref: EnrollmentRef) -> StepDone:
    """A regular activity, retried visibly while the other system is down."""
    posted = await calls.http_post(
        HttpPostInput(ref=ref, url=str(step.url), fields=step.fields), step.id
    )
    return StepDone(step.then, {"status_code": posted.status_code})


def _exits_on(run: StepContext, step: Step) -> bool:
    return isinstance(step, ApplyTagStep) and any(
        rule.matches(EventType.tag_applied, step.tag)
        for rule in run.input.definition.settings.exit_rules
    )


def _after(track: Track, step: RunnableStep) -> Step | None:
    following = track.following(step, step.then)
    return track.step(following) if following is not None else None


def _records_ahead(
    run: StepContext, track: Track, steps: list[RunnableStep], *, ends_enrollment: bool
) -> list[ProjectionUpdate]:
    """Each step's step_completed record, made before the run for it to write, where the
    track goes on after it or the run ends the enrollment (where the track ends and others
    go on, the enrollment's end writes the projection).

    Their revisions are reserved, so an update made meanwhile (a signal's) takes none.
    """
    following = [track.following(step, step.then) for step in steps]
    if following[-1] is None and not ends_enrollment:
        return []
    state = run.state
    first = state.revision + 1
    state.revision += len(steps)
    return [
        run.projection.update(
            "step_completed",
            revision=first + n,
            current_step=state.current_step(moving=(track.id, following[n])),
            track_id=track.id,
            step_id=step.id,
        )
        for n, step in enumerate(steps)
    ]


def _ends_enrollment(run: StepContext, track: Track, last: RunnableStep) -> bool:
    """Whether a run whose last step is `last` ends the enrollment as it stands: its track
    ends there, every other track has ended, and nothing could end it another way (an exit
    rule hearing the tag)."""
    return (
        track.following(last, last.then) is None
        and all(p.step_id is None for t, p in run.state.tracks.items() if t != track.id)
        and not run.draining
        and run.state.status == Status.active
        and run.state.outcome is None
        and not _exits_on(run, last)
    )


def _ending(run: StepContext, last: RunnableStep) -> ProjectionUpdate:
    """The enrollment's end for a run that ends it to write, its revision reserved after the
    steps' records."""
    run.state.revision += 1
    return run.projection.ending(run.state.revision, last.then.end or Outcome.neutral)


def _heard(tag: str | None) -> ContactEventSignal | None:
    return ContactEventSignal(event=EventType.tag_applied, name=tag) if tag else None


def _taking_over(
    run: StepContext,
    step: RunnableStep,
    outcome: StepOutcome,
    track_id: str,
    position: TrackState,
) -> Attempt:
    """The rest of the attempt at the step a run ended at."""
    if outcome.failure is not None:
        return _raise(ApplicationError(outcome.failure, non_retryable=True))
    assert isinstance(step, CommunicationStep) and outcome.waiting is not None
    waiting = outcome.waiting

    async def send_when_placed() -> StepDone:
        detail = await messages.send_held(run, waiting, step, track_id, position)
        return StepDone(step.then, detail)

    return send_when_placed


def _raise(error: Exception) -> Attempt:
    """A step's attempt that fails as an earlier one did."""

    async def attempt() -> StepDone:
        raise error

    return attempt
