"""What every step family shares of the enrollment's run: its input and state, how to wait for
the enrollment to be active, how to run a local activity, and what to tell the projection."""

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow

from activities.contracts import EnrollmentRef
from sequences import OnFailure, Transition
from workflows.state import (
    ContactEventSignal,
    EnrollmentInput,
    EnrollmentState,
    TrackState,
    effect_key,
)

if TYPE_CHECKING:
    from workflows.projection import Projector

T = TypeVar("T")


@dataclass(frozen=True)
class StepDone:
    """Where the track goes after a step, what to record of it, a tag it applied that the
    enrollment's own event waits and exit rules hear of, and whether a step run has already
    written its record."""

    transition: Transition
    detail: dict[str, Any] = field(default_factory=dict)
    heard: ContactEventSignal | None = None
    written: bool = False


class Interrupted(Exception):
    """Stops a track where it is: another track ended the enrollment, or the workflow is about
    to continue as new."""


@dataclass
class StepContext:
    input: EnrollmentInput
    state: EnrollmentState
    projection: "Projector" = field(init=False)
    # Local activities the tracks wait on now; the projection is written between them.
    local_work: int = 0
    tracks_running: int = 0
    tracks_done: bool = False
    # The workflow is about to continue as new: every track stops where it is.
    draining: bool = False
    # The revision of the enrollment's end as a step run that ended it wrote it.
    end_written: int | None = None

    def interrupted(self) -> bool:
        return self.draining or self.state.outcome is not None

    def may_run(self, position: TrackState) -> bool:
        parking = self.input.definition.settings.on_failure == OnFailure.park_track
        return self.state.may_run(position, parking=parking)

    async def wait_until_active(self, position: TrackState) -> None:
        # A track free to go on does so without yielding, so the projector does not write
        # between one step's local work and the next.
        if not self.may_run(position):
            await workflow.wait_condition(lambda: self.may_run(position) or self.interrupted())
        if self.interrupted():
            raise Interrupted

    async def locally(self, work: Awaitable[T]) -> T:
        """Await a step's local activity, holding the projection write back until it is done."""
        self.local_work += 1
        try:
            return await work
        finally:
            self.local_work -= 1

    def effect_key(self, track_id: str, step_id: str, position: TrackState) -> str:
        visit = position.visits.get(step_id, 0)
        return effect_key(self.input.enrollment_id, track_id, step_id, visit)

    def ref(self, track_id: str, step_id: str, position: TrackState) -> EnrollmentRef:
        return EnrollmentRef(
            enrollment_id=self.input.enrollment_id,
            contact_id=self.input.contact_id,
            effect_key=self.effect_key(track_id, step_id, position),
        )
