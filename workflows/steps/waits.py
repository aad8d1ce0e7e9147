"""Timers (delays, dates, contact fields, event dates) and lead-driven decisions (waiting for
what the contact does, checking what is true of it).

A wait's wake-up time is state, so a stop, a worker restart or continue-as-new keeps it.
"""

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

import workflows.calls as calls
from activities.contracts import ConditionInput, TimerInput
from sequences import ConditionStep, DelayStep, TimerStep, WaitForEventStep
from workflows.state import TrackState
from workflows.steps.context import Interrupted, StepContext, StepDone

# The waits whose length is known before they start: a step run that ends at one writes when
# it ends (workflows/steps/runs.py), and the wait counts from the run's end.
FixedWait = DelayStep | WaitForEventStep


def fixed_length(step: object) -> FixedWait | None:
    if (isinstance(step, DelayStep) and step.is_plain) or isinstance(step, WaitForEventStep):
        return step
    return None


def wait_length(step: FixedWait) -> timedelta:
    return step.duration if isinstance(step, DelayStep) else step.within


def begin_wait(step: FixedWait, position: TrackState, at: datetime) -> None:
    if isinstance(step, WaitForEventStep):
        position.waiting_since = at
    position.wake_at = at + wait_length(step)


async def timer(run: StepContext, step: TimerStep, position: TrackState) -> StepDone:
    """Sleep until the timer is due, or skip it, saying why, when its moment has passed."""
    if position.wake_at is None:
        fixed = fixed_length(step)
        if fixed:
            begin_wait(fixed, position, workflow.now())
        else:
            due = await run.locally(
                calls.due_time(
                    TimerInput(
                        contact_id=run.input.contact_id,
                        step=step,
                        now=workflow.now(),
                        settings=run.input.definition.settings,
                        event_date=run.input.event_date,
                    )
                )
            )
            if due.at is None:
                return StepDone(step.then, {"skipped": due.skipped} if due.skipped else {})
            position.wake_at = due.at
    assert position.wake_at is not None
    run.projection.show_due()
    remaining = position.wake_at - workflow.now()
    if remaining > timedelta(0):
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                run.interrupted, timeout=remaining, timeout_summary=step.id
            )
        if run.interrupted():
            raise Interrupted
    position.wake_at = None
    return StepDone(step.then)


async def event(run: StepContext, step: WaitForEventStep, position: TrackState) -> StepDone:
    """Wait, up to the step's limit, for the contact to do what it matches."""
    if position.waiting_since is None:
        begin_wait(step, position, workflow.now())
    run.projection.show_due()
    since = position.waiting_since
    assert since is not None

    def happened() -> bool:
        return any(
            e.at >= since and step.match.matches(e.event, e.name, e.step_id, e.url)
            for e in run.state.events
        )

    remaining = (position.wake_at or since) - workflow.now()
    if not happened() and remaining > timedelta(0):
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: happened() or run.interrupted(),
                timeout=remaining,
                timeout_summary=f"{step.id}: until {step.match.event.value}",
            )
    if run.interrupted():
        raise Interrupted
    seen = happened()
    position.waiting_since = position.wake_at = None
    return StepDone(step.if_happened if seen else step.if_not, {"event_happened": seen})


async def condition(run: StepContext, step: ConditionStep) -> StepDone:
    met = await run.locally(
        calls.check_condition(
            ConditionInput(
                contact_id=run.input.contact_id,
                check=step.check,
                enrollment_id=run.input.enrollment_id,
            ),
            step.id,
        )
    )
    return StepDone(step.if_true if met else step.if_false, {"condition_met": met})
