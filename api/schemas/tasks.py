import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Instant, RequestBody
from sequences import PERSON_KINDS
from store.models import TaskStatus

# The to-do kinds, as the sequence language has them.
TodoKind = StrEnum("TodoKind", {kind: kind for kind in PERSON_KINDS})  # type: ignore[misc]


class TaskRead(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    step_id: str | None
    kind: str
    title: str
    instructions: str
    assigned_to: uuid.UUID | None
    due_at: datetime | None
    allowed_results: list[str]
    opportunity_id: uuid.UUID | None
    status: TaskStatus
    result: str | None
    notes: str
    completed_by: uuid.UUID | None
    completed_at: datetime | None
    created_at: datetime


class OutcomeBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    result: str = Field(min_length=1, max_length=50, examples=["no_answer", "interested"])
    notes: str = Field(default="", max_length=10_000)


class SnoozeBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    until: Instant = Field(description="When the to-do is due again; later than now.")


class RescheduleBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    due_at: Instant


class ReassignBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="The colleague (rep, manager or admin) to hand it to.")


class SkipBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    notes: str = Field(default="", max_length=10_000)


class TodoContact(BaseModel):
    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None


class TodoSequence(BaseModel):
    id: uuid.UUID
    name: str


class TodoItem(TaskRead):
    contact: TodoContact
    sequence: TodoSequence | None


class TodoPage(BaseModel):
    items: list[TodoItem]
    limit: int
    offset: int
