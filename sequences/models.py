"""Pydantic models of a sequence definition, as designers write it and workflows interpret it."""

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sequences.merge import check_merge_fields

StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

# A delay longer than this is almost certainly a typo (P100Y instead of P10D).
MAX_DELAY = timedelta(days=3660)


def _positive_bounded(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise ValueError("must be a positive duration, e.g. PT30M or P2D")
    if duration > MAX_DELAY:
        raise ValueError("must be at most ten years")
    return duration


def known_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name like 'America/New_York'"
        ) from None
    return name


Template = Annotated[str, StringConstraints(min_length=1), AfterValidator(check_merge_fields)]
TimezoneName = Annotated[str, AfterValidator(known_timezone)]


class Outcome(StrEnum):
    positive = "positive"
    negative = "negative"
    neutral = "neutral"


class Transition(BaseModel):
    """Where a step leads: the following step (the default), another step of its track, or the end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    go_to: StepId | None = None
    end: Outcome | None = Field(default=None, description="End the whole enrollment.")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.go_to is not None and self.end is not None:
            raise ValueError("give go_to or end, not both")
        return self


CONTINUE = Transition()


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Whether the step lets time pass, which is what makes a loop through it safe.
    waits: ClassVar[bool] = False

    id: StepId
    name: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=5000, description="For designers; never executed.")
    then: Transition = Field(default=CONTINUE, description="Where to go after this step.")

    def transitions(self) -> list[Transition]:
        """Every way out of the step; decisions have more than one."""
        return [self.then]


class DelayStep(_Step):
    """Wait for a fixed duration (ISO 8601, e.g. `PT2H`, `P3D`)."""

    waits: ClassVar[bool] = True

    kind: Literal["delay"] = "delay"
    duration: Annotated[timedelta, AfterValidator(_positive_bounded)]


class EmailStep(_Step):
    """Send an email to the contact; subject and body take merge fields like `{{ contact.first_name }}`."""

    kind: Literal["email"] = "email"
    subject: Annotated[Template, StringConstraints(max_length=998)]
    body: Annotated[Template, StringConstraints(max_length=100_000)]


class ApplyTagStep(_Step):
    """Apply a tag to the contact, creating the tag if it does not exist yet."""

    kind: Literal["apply_tag"] = "apply_tag"
    tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


Step = Annotated[DelayStep | EmailStep | ApplyTagStep, Field(discriminator="kind")]


class Track(BaseModel):
    """A start point and the steps that follow it; tracks of one sequence run side by side."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StepId
    name: str = Field(default="", max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=500)


class Reentry(StrEnum):
    never = "never"
    after_end = "after_end"


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


class SequenceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notes: str = Field(default="", max_length=20_000)
    settings: SequenceSettings = Field(default_factory=SequenceSettings)
    tracks: list[Track] = Field(min_length=1, max_length=20)

    def track(self, track_id: str) -> Track:
        return next(track for track in self.tracks if track.id == track_id)

    def step_ids(self) -> list[str]:
        return [step.id for track in self.tracks for step in track.steps]
