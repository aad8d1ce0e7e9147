import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import Instant, RequestBody
from sequences import EventType
from store.models import MessageStatus

# A Literal rather than an enum keeps the schema self-contained for the route's OpenAPI entry.
EmailEventKind = Literal[
    "delivered", "bounced", "opened", "clicked", "replied", "unsubscribed", "complained"
]


class EmailEvent(RequestBody):
    """What an email provider (or a relay in front of it) reports about one message."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(
        min_length=1,
        max_length=300,
        description="The Message-ID the email was sent with; angle brackets are optional.",
    )
    event: EmailEventKind
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The provider's id for this event: the same id received again is ignored.",
    )
    url: str | None = Field(
        default=None, min_length=1, max_length=2000, description="The link clicked."
    )
    detail: str | None = Field(
        default=None, max_length=1000, description="The provider's reason, e.g. for a bounce."
    )
    occurred_at: Instant | None = Field(default=None, description="Defaults to now.")

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("occurred_at needs a timezone, e.g. 2026-01-31T09:00:00Z")
        return value


class EmailEventApplied(BaseModel):
    message_id: uuid.UUID = Field(description="The message in the outbox the event was about.")
    status: MessageStatus = Field(description="The message's status now.")
    event: EventType | None = Field(
        description="The contact event recorded; none for a delivery, a repeated bounce or "
        "a message to staff rather than the contact."
    )
    event_id: uuid.UUID | None = Field(
        description="The contact event; the contact's enrollments are told of it once it is kept."
    )
    duplicate: bool = Field(
        default=False, description="The event id was received before; nothing changed."
    )
