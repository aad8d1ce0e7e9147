"""Communication steps (email, SMS, voice, fax, letter) are recorded, placed and handed over in a
step run (workflows/steps/runs.py); a message the sending limits hold, or whose hand-over failed
for now, waits here, visibly, for its place, and then goes as a regular activity."""

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

import workflows.calls as calls
from activities.contracts import DeliverInput, Dispatched
from sequences import CommunicationStep
from workflows.state import TrackState
from workflows.steps.context import StepContext


async def send_held(
    run: StepContext,
    sent: Dispatched,
    step: CommunicationStep,
    track_id: str,
    position: TrackState,
) -> dict[str, Any]:
    """A message recorded but not handed over: held by the sending limits, or the hand-over
    failed for now. Wait for its place, then hand it over for as long as it takes."""
    assert sent.send_at is not None and sent.message_id is not None
    held = await _hold(run, sent.send_at, sent.held_because, step, track_id, position)
    delivered = await calls.deliver(DeliverInput(message_id=sent.message_id), step.id)
    return {**held, "message": delivered.status}


async def _hold(
    run: StepContext,
    send_at: datetime,
    reason: str | None,
    step: CommunicationStep,
    track_id: str,
    position: TrackState,
) -> dict[str, Any]:
    """Sleep until the message's reserved time; what to record of the wait."""
    remaining = send_at - workflow.now()
    if remaining <= timedelta(0):
        return {}
    held = {"held_until": send_at.isoformat(), "held_because": reason}
    position.wake_at, position.held_because = send_at, reason
    run.projection.publish("message_held", track_id=track_id, step_id=step.id, detail=held)
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(
            run.interrupted, timeout=remaining, timeout_summary=f"{step.id}: held"
        )
    position.wake_at = position.held_because = None
    # A stop while the message was held keeps it from going until reactivation.
    await run.wait_until_active(position)
    return held
