"""What every step shares: ids, transitions to other steps, outcomes, templates."""

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from sequences.merge import check_merge_fields

_STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _step_id(value: str) -> str:
    if not _STEP_ID.match(value):
        raise ValueError(f"{value!r} is not a valid id: use 1 to 64 letters, digits, '-' or '_'")
    return value


StepId = Annotated[str, AfterValidator(_step_id)]

_NUMBER = r"\d+(?:\.\d+)?"
_ISO_DURATION = re.compile(
    rf"^-?P(?=\d|T\d)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)


def _iso_duration(value: object, info: ValidationInfo) -> object:
    """Durations are ISO 8601 text only: a bare number (seconds? minutes?) or "5 minutes"
    would be read some way the designer did not mean."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not _ISO_DURATION.match(value):
        raise ValueError(
            f"{info.field_name}: {value!r} is not an ISO 8601 duration; write it like PT30M (30 minutes), "
            "PT2H (2 hours), P3D (3 days) or P1DT12H"
        )
    return value


IsoDuration = Annotated[timedelta, BeforeValidator(_iso_duration)]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def single_line(value: str) -> str:
    """Text that goes into a message header: a line break there would start a header of the
    text's choosing (`Acme\r\nBcc: ...`)."""
    if _CONTROL.search(value):
        raise ValueError("must be one line: no line breaks, tabs or other control characters")
    return value


HeaderText = Annotated[str, AfterValidator(single_line)]


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


class StepBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Whether the step lets time pass, which is what makes a loop through it safe.
    waits: ClassVar[bool] = False

    id: StepId
    name: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=5000, description="For designers; never executed.")
    then: Transition = Field(default=CONTINUE, description="Where to go after this step.")

    def ways_out(self) -> dict[str, Transition]:
        """Every way out of the step, by what takes it; decisions have more than one."""
        return {"then": self.then}

    def transitions(self) -> list[Transition]:
        return list(self.ways_out().values())
