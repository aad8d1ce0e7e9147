import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from store.models import EnrollmentStatus


class EnrollRequest(BaseModel):
    """Either one `contact_id`, or up to 1,000 `contact_ids` with a result per contact."""

    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID | None = None
    contact_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=1000)
    event_date: date | None = Field(
        default=None, description="The date event timers count from (a webinar, a renewal)."
    )

    @model_validator(mode="after")
    def _one_form(self) -> "EnrollRequest":
        if (self.contact_id is None) == (self.contact_ids is None):
            raise ValueError("give either contact_id or contact_ids, not both or neither")
        return self

    def requested_ids(self) -> list[uuid.UUID]:
        if self.contact_ids is not None:
            return self.contact_ids
        assert self.contact_id is not None  # guaranteed by _one_form
        return [self.contact_id]


class EnrollOutcome(StrEnum):
    enrolled = "enrolled"
    already_enrolled = "already_enrolled"
    reentry_not_allowed = "reentry_not_allowed"
    not_found = "not_found"


class EnrollResult(BaseModel):
    contact_id: uuid.UUID
    outcome: EnrollOutcome
    enrollment_id: uuid.UUID | None = None


class BulkEnrollResponse(BaseModel):
    results: list[EnrollResult]


class EnrollmentRead(BaseModel):
    id: uuid.UUID
    sequence_id: uuid.UUID
    version: int
    contact_id: uuid.UUID
    workflow_id: str
    status: EnrollmentStatus
    current_step: str | None
    outcome: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


class EnrollmentEventRead(BaseModel):
    kind: str
    track_id: str | None
    step_id: str | None
    detail: dict[str, Any]
    occurred_at: datetime


class EnrollmentDetail(EnrollmentRead):
    events: list[EnrollmentEventRead]


class OpenTasks(StrEnum):
    leave_open = "leave_open"
    cancel = "cancel"
    complete_as_none = "complete_as_none"


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)
    open_tasks: OpenTasks = Field(
        default=OpenTasks.leave_open,
        description="What happens to the enrollment's open to-dos: they stay on reps' lists, "
        "are cancelled, or are completed with no result; either of the last two lets the "
        "enrollment carry on past them when reactivated.",
    )


class Accepted(BaseModel):
    enrollment_id: uuid.UUID
    requested: str
    detail: str


class Removed(BaseModel):
    enrollment_id: uuid.UUID
    workflow_runs_deleted: int
