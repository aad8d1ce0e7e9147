"""Timer steps: they let time pass until a duration, a date or a contact's date comes round."""

from datetime import date, time, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sequences.base import IsoDuration, StepBase
from sequences.schedule import DayRule

# A delay longer than this is almost certainly a typo (P100Y instead of P10D).
MAX_DELAY = timedelta(days=3660)


def _positive_bounded(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise ValueError("must be a positive duration, e.g. PT30M or P2D")
    if duration > MAX_DELAY:
        raise ValueError("must be at most ten years")
    return duration


class TimeWindow(BaseModel):
    """Local wall times; an end at or before the start is an overnight window (22:00-06:00)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time


class _Timer(StepBase):
    waits: ClassVar[bool] = True


class DelayStep(_Timer):
    """Wait for a duration (ISO 8601, e.g. `PT2H`, `P3D`), optionally landing at a local time of
    day, inside a window, or on weekdays / business days only, in the contact's timezone."""

    kind: Literal["delay"] = "delay"
    duration: Annotated[IsoDuration, AfterValidator(_positive_bounded)]
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
    if_past: IfPast = Field(
        default=IfPast.run_now,
        description="When the moment has passed at enrollment (a contact enrolled after it).",
    )


TimerStep = DelayStep | DateTimerStep | FieldTimerStep | EventTimerStep
