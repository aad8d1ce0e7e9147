"""The whole definition: tracks of steps, and the sequence's settings."""

from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sequences.actions import (
    ApplyTagStep,
    AppointmentStep,
    AssignOwnerStep,
    CommunicationStep,
    CreateTaskStep,
    EmailStep,
    FaxStep,
    FulfillmentStep,
    HttpPostStep,
    LetterStep,
    NoteStep,
    OpportunityStep,
    OrderStep,
    Recipient,
    RemoveTagStep,
    SetFieldStep,
    SmsStep,
    VoiceStep,
)
from sequences.base import Outcome, StepBase, StepId, TimezoneName, Transition
from sequences.manual import (
    CallStep,
    ConditionStep,
    EventMatch,
    EventType,
    ManualEmailStep,
    TaskStep,
    WaitForEventStep,
)
from sequences.sending import Sending
from sequences.timers import DateTimerStep, DelayStep, EventTimerStep, FieldTimerStep

Step = Annotated[
    DelayStep
    | DateTimerStep
    | FieldTimerStep
    | EventTimerStep
    | EmailStep
    | SmsStep
    | VoiceStep
    | FaxStep
    | LetterStep
    | ApplyTagStep
    | RemoveTagStep
    | NoteStep
    | CreateTaskStep
    | AppointmentStep
    | SetFieldStep
    | AssignOwnerStep
    | OpportunityStep
    | FulfillmentStep
    | OrderStep
    | HttpPostStep
    | CallStep
    | TaskStep
    | ManualEmailStep
    | WaitForEventStep
    | ConditionStep,
    Field(discriminator="kind"),
]


# The step kinds by family, as a designer's palette shows them.
FAMILIES: dict[str, tuple[type[StepBase], ...]] = {
    "timers": (DelayStep, DateTimerStep, FieldTimerStep, EventTimerStep),
    "communications": (EmailStep, SmsStep, VoiceStep, FaxStep, LetterStep),
    "processes": (
        ApplyTagStep,
        RemoveTagStep,
        NoteStep,
        CreateTaskStep,
        AppointmentStep,
        SetFieldStep,
        AssignOwnerStep,
        OpportunityStep,
        FulfillmentStep,
        OrderStep,
        HttpPostStep,
    ),
    "people": (CallStep, TaskStep, ManualEmailStep),
    "decisions": (WaitForEventStep, ConditionStep),
}


def kind_of(step: type[StepBase]) -> str:
    return str(step.model_fields["kind"].default)


FAMILY_OF_KIND = {kind_of(step): family for family, steps in FAMILIES.items() for step in steps}
STEP_KINDS = {kind_of(step): step for steps in FAMILIES.values() for step in steps}


class Track(BaseModel):
    """A start point and the steps that follow it; tracks of one sequence run side by side."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StepId
    name: str = Field(default="", max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=500)

    @cached_property
    def step_positions(self) -> dict[str, int]:
        return {step.id: index for index, step in enumerate(self.steps)}

    def step(self, step_id: str) -> Step:
        return self.steps[self.step_positions[step_id]]

    def following(self, step: StepBase, transition: Transition) -> str | None:
        """The step a way out of `step` leads to; None where the track ends."""
        if transition.end is not None:
            return None
        if transition.go_to is not None:
            return transition.go_to
        after = self.step_positions[step.id] + 1
        return self.steps[after].id if after < len(self.steps) else None


class Reentry(StrEnum):
    never = "never"
    after_end = "after_end"


class OnFailure(StrEnum):
    """What a step that fails for good does to the enrollment's other tracks."""

    park_track = "park_track"
    stop_all = "stop_all"


class ExitRule(EventMatch):
    outcome: Outcome = Outcome.neutral
    whole_company: bool = Field(
        default=False,
        description="A reply also ends the enrollments in this sequence of the contact's "
        "colleagues (contacts of the same company), as account-based sequences do.",
    )

    @model_validator(mode="after")
    def _company_on_replies(self) -> Self:
        if self.whole_company and self.event != EventType.replied:
            raise ValueError("whole_company applies to replies only (event 'replied')")
        return self


class SequenceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reentry: Reentry = Field(
        default=Reentry.after_end,
        description="Whether a contact can be enrolled again once an earlier enrollment ended.",
    )
    timezone: TimezoneName | None = Field(
        default=None, description="For contacts without a timezone of their own."
    )
    holidays: list[date] = Field(
        default_factory=list, max_length=1000, description="Skipped by business-day timers."
    )
    exit_rules: list[ExitRule] = Field(
        default_factory=list,
        max_length=50,
        description="Events (a reply, an unsubscribe, a tag applied) that end an enrollment.",
    )
    goals: list[EventMatch] = Field(
        default_factory=list,
        max_length=50,
        description="Events that enroll the contact into this sequence.",
    )
    sending: Sending = Field(default_factory=Sending)
    on_failure: OnFailure = Field(
        default=OnFailure.park_track,
        description="park_track: a track whose step failed waits for a retry while the other "
        "tracks go on, as independent start points do; stop_all: every track waits.",
    )


class SequenceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notes: str = Field(default="", max_length=20_000)
    settings: SequenceSettings = Field(default_factory=SequenceSettings)
    tracks: list[Track] = Field(min_length=1, max_length=20)

    def track(self, track_id: str) -> Track:
        return next(track for track in self.tracks if track.id == track_id)

    def channels_to_contact(self) -> set[str]:
        """The channels the sequence reaches the contact on (not notifications to staff)."""
        return {
            step.channel
            for track in self.tracks
            for step in track.steps
            if isinstance(step, CommunicationStep) and step.send_to.who == Recipient.contact
        }

    def uses_event_date(self) -> bool:
        return any(isinstance(s, EventTimerStep) for t in self.tracks for s in t.steps)

    def step_ids(self) -> list[str]:
        return [step.id for track in self.tracks for step in track.steps]
