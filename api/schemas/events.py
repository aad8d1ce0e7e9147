import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import Instant, RequestBody
from sequences import EventType


class EventCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID
    event: EventType
    name: str | None = Field(
        default=None, max_length=200, description="The page, form, link or custom event's name."
    )
    occurred_at: Instant | None = Field(default=None, description="Defaults to now.")
    data: dict[str, Any] = Field(default_factory=dict, max_length=100)

    @model_validator(mode="after")
    def _named_when_needed(self) -> "EventCreate":
        if self.event in (EventType.custom, EventType.tag_applied) and not self.name:
            raise ValueError(f"a {self.event.value} event needs a name")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a timezone, e.g. 2026-01-31T09:00:00Z")
        return self


class EventAccepted(BaseModel):
    """The event is kept; telling its enrollments and goals runs on the worker, durably. The
    answer waits a few seconds for that and says what it did, or null if still under way."""

    event_id: uuid.UUID
    enrollments_told: int | None = Field(
        description="Running enrollments of the contact it reached; null while under way."
    )
    enrolled: list[uuid.UUID] | None = Field(
        description="Enrollments started by sequence goals; null while under way."
    )


class TagBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=100)
