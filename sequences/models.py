"""Pydantic models of a sequence definition, as designers write it and workflows interpret it."""

from datetime import date, time, timedelta
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
from sequences.schedule import DayRule

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


class TimeWindow(BaseModel):
    """Local wall times; an end at or before the start is an overnight window (22:00-06:00)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time


class _Timer(_Step):
    waits: ClassVar[bool] = True


class DelayStep(_Timer):
    """Wait for a duration (ISO 8601, e.g. `PT2H`, `P3D`), optionally landing at a local time of
    day, inside a window, or on weekdays / business days only, in the contact's timezone."""

    kind: Literal["delay"] = "delay"
    duration: Annotated[timedelta, AfterValidator(_positive_bounded)]
    at: time | None = Field(default=None, description="Then at this local time, e.g. 09:00.")
    window: TimeWindow | None = Field(default=None, description="Only within this local window.")
    days: DayRule = Field(default=DayRule.any, description="any, weekdays or business_days.")

    @model_validator(mode="after")
    def _at_or_window(self) -> Self:
        if self.at is not None and self.window is not None:
            raise ValueError("give at or window, not both")
        return self

    @property
    def is_plain(self) -> bool:
        """Elapsed time only, with no calendar rule: the workflow computes it without the contact."""
        return self.at is None and self.window is None and self.days == DayRule.any


class IfPast(StrEnum):
    run_now = "run_now"
    skip = "skip"


class DateTimerStep(_Timer):
    """Wait until a calendar date and local time in the contact's timezone."""

    kind: Literal["date_timer"] = "date_timer"
    on: date
    at: time = time(9, 0)
    if_past: IfPast = Field(default=IfPast.run_now, description="When the date has passed.")


Offset = Annotated[int, Field(ge=-366, le=366, description="Days before (-) or after (+).")]


class FieldTimerStep(_Timer):
    """Wait until a date field of the contact (birthday, anniversary), once or every year."""

    kind: Literal["field_timer"] = "field_timer"
    field: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    offset_days: Offset = 0
    at: time = time(9, 0)
    yearly: bool = Field(default=False, description="Fire on every anniversary, not just once.")


class EventTimerStep(_Timer):
    """Wait until days before or after the event date given when the contact was enrolled."""

    kind: Literal["event_timer"] = "event_timer"
    offset_days: Offset
    at: time = time(9, 0)


class EmailStep(_Step):
    """Send an email to the contact; subject and body take merge fields like `{{ contact.first_name }}`."""

    kind: Literal["email"] = "email"
    subject: Annotated[Template, StringConstraints(max_length=998)]
    body: Annotated[Template, StringConstraints(max_length=100_000)]


class ApplyTagStep(_Step):
    """Apply a tag to the contact, creating the tag if it does not exist yet."""

    kind: Literal["apply_tag"] = "apply_tag"
    tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


TimerStep = DelayStep | DateTimerStep | FieldTimerStep | EventTimerStep

Step = Annotated[
    DelayStep | DateTimerStep | FieldTimerStep | EventTimerStep | EmailStep | ApplyTagStep,
    Field(discriminator="kind"),
]


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

    def uses_event_date(self) -> bool:
        return any(isinstance(s, EventTimerStep) for t in self.tracks for s in t.steps)

    def step_ids(self) -> list[str]:
        return [step.id for track in self.tracks for step in track.steps]
