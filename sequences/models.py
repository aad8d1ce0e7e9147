"""Pydantic models of a sequence definition, as designers write it and workflows interpret it."""

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

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


Template = Annotated[str, StringConstraints(min_length=1), AfterValidator(check_merge_fields)]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StepId
    name: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=5000, description="For designers; never executed.")


class DelayStep(_Step):
    """Wait for a fixed duration (ISO 8601, e.g. `PT2H`, `P3D`)."""

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


class SequenceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notes: str = Field(default="", max_length=20_000)
    tracks: list[Track] = Field(min_length=1, max_length=20)

    def track(self, track_id: str) -> Track:
        return next(track for track in self.tracks if track.id == track_id)

    def step_ids(self) -> list[str]:
        return [step.id for track in self.tracks for step in track.steps]
