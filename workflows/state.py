"""The enrollment workflow's input, carried state and signal payloads."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

from sequences import Outcome, SequenceDefinition

# The names the workflow is started and told things by, for clients that do not import it.
ENROLLMENT_WORKFLOW = "EnrollmentWorkflow"
CONTACT_EVENT = "contact_event"

# Why an update was refused, for the API to answer: it does not apply in the enrollment's
# state, or this run does not wait for the to-do (one a run before it created).
NOT_APPLICABLE = "NotApplicable"
NOT_AWAITED = "NotAwaited"


class Status(StrEnum):
    active = "active"
    stopped = "stopped"
    completed = "completed"
    failed = "failed"


class TrackState(BaseModel):
    step_id: str | None = Field(description="The step to run next; None once the track has ended.")
    wake_at: datetime | None = Field(
        default=None, description="When the delay or the held message the track waits on ends."
    )
    held_because: str | None = Field(
        default=None, description="Why a message waits: a rate limit, a daily cap, quiet hours."
    )
    visits: dict[str, int] = Field(
        default_factory=dict, description="Completed runs per step; part of each effect key."
    )
    task_id: str | None = Field(default=None, description="The to-do the track waits on.")
    failure_reason: str | None = Field(
        default=None, description="Why the track is parked: its step failed for good."
    )
    waiting_since: datetime | None = Field(
        default=None, description="When the track began waiting for a contact event."
    )


class ReceivedEvent(BaseModel):
    event: str
    name: str | None = None
    step_id: str | None = Field(
        default=None, description="The step of this enrollment whose message it is about."
    )
    url: str | None = None
    at: datetime


class EnrollmentState(BaseModel):
    """Everything needed to resume exactly where the enrollment stands after continue-as-new."""

    status: Status = Status.active
    tracks: dict[str, TrackState]
    outcome: Outcome | None = None
    revision: int = 0
    task_results: dict[str, str] = Field(
        default_factory=dict, description="Results reported for to-dos not yet acted on."
    )
    events: list[ReceivedEvent] = Field(
        default_factory=list, description="The contact's latest events, for event waits."
    )

    def may_run(self, position: TrackState, *, parking: bool) -> bool:
        """Whether a track may take its next step: while the enrollment is active, and while
        it is failed for another track's step if failures park only their own track."""
        if self.status == Status.failed:
            return parking and position.failure_reason is None
        return self.status == Status.active

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failure_reason(self) -> str | None:
        """The reasons of the tracks parked by a failure, for the enrollment to show."""
        reasons = [t.failure_reason for t in self.tracks.values() if t.failure_reason]
        return "; ".join(reasons) or None

    @classmethod
    def initial(cls, definition: SequenceDefinition) -> "EnrollmentState":
        return cls(tracks={t.id: TrackState(step_id=t.steps[0].id) for t in definition.tracks})

    def next_due_at(self) -> datetime | None:
        """When the enrollment next moves on by itself: the earliest delay or timer to end, held
        message to go, or event wait to run out among its tracks; none while it is stopped."""
        if self.status in (Status.stopped, Status.completed):
            return None
        due = [t.wake_at for t in self.tracks.values() if t.step_id is not None and t.wake_at]
        return min(due, default=None)

    def current_step(self, *, moving: tuple[str, str | None] | None = None) -> str | None:
        """Each running track's step; `moving` (track id, step id) puts one track elsewhere."""
        steps = [
            moving[1] if moving and track_id == moving[0] else track.step_id
            for track_id, track in self.tracks.items()
        ]
        return ",".join(step for step in steps if step is not None) or None


class EnrollmentInput(BaseModel):
    enrollment_id: str
    contact_id: str
    sequence_id: str
    version: int
    definition: SequenceDefinition
    enrolled_by: str | None = None
    event_date: date | None = Field(
        default=None, description="The date event timers count from, given at enrollment."
    )
    state: EnrollmentState | None = Field(
        default=None, description="Set only when the workflow continues as new."
    )


class OpenTasks(StrEnum):
    """What a stop does with the enrollment's open to-dos."""

    leave_open = "leave_open"
    cancel = "cancel"
    complete_as_none = "complete_as_none"


class StopRequest(BaseModel):
    reason: str = ""
    open_tasks: OpenTasks = OpenTasks.leave_open
    stopped_by: str | None = None
    # A rep's stop closes only the to-dos assigned to that rep; the others stay on their lists.
    only_assigned_to: str | None = None


class MigrateRequest(BaseModel):
    version: int
    definition: SequenceDefinition


def missing_positions(state: EnrollmentState, definition: SequenceDefinition) -> list[str]:
    """Where the enrollment stands that the other definition has no step for, as track/step."""
    steps = {track.id: {step.id for step in track.steps} for track in definition.tracks}
    return [
        f"{track_id}/{position.step_id}"
        for track_id, position in state.tracks.items()
        if position.step_id is not None and position.step_id not in steps.get(track_id, set())
    ]


def migrated_state(state: EnrollmentState, definition: SequenceDefinition) -> EnrollmentState:
    """The same positions under the other definition; its new tracks start at their first step."""
    tracks = dict(state.tracks)
    for track in definition.tracks:
        tracks.setdefault(track.id, TrackState(step_id=track.steps[0].id))
    return state.model_copy(update={"tracks": tracks})


class TaskOutcome(BaseModel):
    """A to-do's result; or, `skipped`, a person passing over it: the track goes on to the next
    step and no result is recorded."""

    task_id: str
    enrollment_id: str
    result: str
    notes: str = ""
    completed_by: str | None = None
    skipped: bool = False


class ContactEventSignal(BaseModel):
    event: str
    name: str | None = None
    message_enrollment_id: str | None = Field(
        default=None, description="For an event about a message: the enrollment that sent it."
    )
    message_step_id: str | None = Field(default=None, description="And the step that sent it.")
    url: str | None = Field(default=None, description="The link clicked or the page visited.")
    colleague: bool = Field(
        default=False,
        description="A colleague's reply (a contact of the same company): only exit rules for "
        "the whole company hear it.",
    )


def effect_key(enrollment_id: str, track_id: str, step_id: str, visit: int) -> str:
    """The same on every retry of a step's visit, so its effects happen once; a later visit
    (a loop back) gets its own."""
    return f"{enrollment_id}:{track_id}:{step_id}:{visit}"


def step_of(key: str) -> str | None:
    """The step an effect key (a message's, say) was made for."""
    parts = key.split(":")
    return parts[2] if len(parts) == 4 else None


class EnrollmentResult(BaseModel):
    status: Status
    steps_run: int


def workflow_id_for(sequence_id: str, contact_id: str) -> str:
    """One id per (sequence, contact): Temporal itself refuses a second running enrollment."""
    return f"enrollment:{sequence_id}:{contact_id}"
