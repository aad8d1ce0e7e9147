import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import Day, RequestBody
from enrolling.starts import EnrollOutcome, EnrollResult
from store.models import EnrollmentStatus
from workflows.state import OpenTasks

__all__ = ["EnrollOutcome", "EnrollResult"]

MAX_BULK = 10_000


class ContactFilter(RequestBody):
    """Contacts that match every condition given."""

    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(default=None, min_length=1, max_length=100)
    owner_id: uuid.UUID | None = None
    field: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    equals: str | float | bool | None = Field(default=None, description="The field's value.")

    @model_validator(mode="after")
    def _something(self) -> "ContactFilter":
        if self.tag is None and self.owner_id is None and self.field is None:
            raise ValueError("give at least one of tag, owner_id or field")
        if (self.field is None) != (self.equals is None):
            raise ValueError("give field and equals together")
        return self


class EnrollRequest(RequestBody):
    """One `contact_id`; or `contact_ids` or a `filter`, with a result per contact."""

    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID | None = None
    contact_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_BULK)
    filter: ContactFilter | None = None
    event_date: Day | None = Field(
        default=None, description="The date event timers count from (a webinar, a renewal)."
    )

    @model_validator(mode="after")
    def _one_form(self) -> "EnrollRequest":
        given = [f for f in (self.contact_id, self.contact_ids, self.filter) if f is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of contact_id, contact_ids or filter")
        return self


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
    next_due_at: datetime | None = Field(
        description="When it next moves on by itself: a delay or timer ending, a held message "
        "going, an event wait running out; null while it waits for a person or is stopped."
    )


class EnrollmentEventRead(BaseModel):
    kind: str
    track_id: str | None
    step_id: str | None
    detail: dict[str, Any]
    occurred_at: datetime


class EnrollmentDetail(EnrollmentRead):
    events: list[EnrollmentEventRead]


class StopBody(RequestBody):
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


class BulkControl(RequestBody):
    model_config = ConfigDict(extra="forbid")

    enrollment_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class BulkStop(BulkControl, StopBody):
    pass


class BulkResult(BaseModel):
    enrollment_id: uuid.UUID
    status_code: int = Field(description="What the single-enrollment call would have answered.")
    detail: str


class BulkResponse(BaseModel):
    results: list[BulkResult]
