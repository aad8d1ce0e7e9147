"""How a sequence sends: who emails come from, rate limits per channel, and quiet hours."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from sequences.actions import Channel
from sequences.base import HeaderText

PerMinute = Annotated[int, Field(ge=1, le=100_000)]


class Sender(BaseModel):
    """Who emails appear to come from; what is left unset falls back to the server's MAIL_FROM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: HeaderText = Field(default="", max_length=200, description="The display name in From.")
    address: EmailStr | None = Field(default=None, description="The From address.")
    reply_to: EmailStr | None = None
    user_id: uuid.UUID | None = Field(
        default=None,
        description="Send in this user's name and address; counts against the user's daily cap.",
    )

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if self.address and self.user_id:
            raise ValueError("give either address or user_id, not both")
        return self


class QuietHours(BaseModel):
    """Hours of the contact's day when nothing is sent; held messages go when they end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = Field(description="e.g. 21:00; may be later than end, spanning midnight.")
    end: time = Field(description="e.g. 08:00")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end are the same time; leave quiet_hours unset instead")
        return self

    def covers(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def next_open(self, local: datetime) -> datetime:
        """The first moment at or after `local` (aware, in the contact's zone) outside the hours."""
        if not self.covers(local.time().replace(tzinfo=None)):
            return local
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        opened = datetime.combine(day, self.end, tzinfo=local.tzinfo)
        # Round trip through UTC so a wall time skipped by a DST change lands on a real instant.
        return opened.astimezone(UTC).astimezone(local.tzinfo)


class Sending(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: Sender = Field(default_factory=Sender)
    rate_limits: dict[Channel, PerMinute] = Field(
        default_factory=dict,
        description="Most messages per minute per channel for this sequence, e.g. {'sms': 30}.",
    )
    quiet_hours: QuietHours | None = Field(
        default=None, description="In the contact's timezone (else the sequence's, else UTC)."
    )
    tracking: bool = Field(
        default=True,
        description="Emails to contacts carry an open pixel and their links go through signed "
        "redirects, so opens and clicks reach waits, conditions and the report; false sends "
        "them as written.",
    )
