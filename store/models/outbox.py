"""Every communication, its sending slots and reserved times, and HTTP posts made."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, text
from sqlmodel import Field, SQLModel

from store.models.columns import optional_timestamp, timestamp


class MessageStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    bounced = "bounced"
    failed = "failed"


class Message(SQLModel, table=True):
    """The outbox: every communication, recorded before it is handed to a channel."""

    __table_args__ = (Index("ix_message_contact", "contact_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    effect_key: str = Field(unique=True, max_length=300)
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", index=True, ondelete="CASCADE"
    )
    contact_id: uuid.UUID = Field(foreign_key="contact.id", ondelete="CASCADE")
    channel: str = Field(max_length=20)
    to_address: str = Field(max_length=320)
    to_contact: bool = Field(
        default=True,
        sa_column_kwargs={"server_default": text("true")},
        description="False for notifications to staff about the contact.",
    )
    subject: str = Field(default="")
    body: str = Field(default="")
    html_body: str | None = Field(default=None, description="The HTML part of an email.")
    sender: str | None = Field(
        default=None, max_length=400, description="From, when not the default."
    )
    reply_to: str | None = Field(default=None, max_length=320)
    sent_by: uuid.UUID | None = Field(
        default=None,
        foreign_key="user.id",
        ondelete="SET NULL",
        description="Whose daily cap it counts against.",
    )
    status: MessageStatus = Field(default=MessageStatus.queued, max_length=20)
    provider_id: str | None = Field(
        default=None, max_length=100, index=True, description="The provider's id, for its webhooks."
    )
    status_detail: str | None = Field(default=None, max_length=1000)
    claimed_until: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=True),
        description="While an attempt is handing the message over, no other attempt may.",
    )
    tracked: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": text("false")},
        description="Sent with an open pixel and its links through signed redirects.",
    )
    thread_of: uuid.UUID | None = Field(
        default=None,
        foreign_key="message.id",
        ondelete="SET NULL",
        description="The earlier message this one replies in the thread of.",
    )
    created_at: datetime = timestamp()
    sent_at: datetime | None = optional_timestamp()
    # What the recipient did with it, first time each (the report counts messages, not hits).
    opened_at: datetime | None = optional_timestamp()
    machine_opened_at: datetime | None = optional_timestamp()
    clicked_at: datetime | None = optional_timestamp()
    replied_at: datetime | None = optional_timestamp()
    unsubscribed_at: datetime | None = optional_timestamp()


class MessageClick(SQLModel, table=True):
    """The people's clicks on one link of one message (machines' are only on the timeline)."""

    __tablename__ = "message_click"

    message_id: uuid.UUID = Field(foreign_key="message.id", primary_key=True, ondelete="CASCADE")
    url: str = Field(primary_key=True, max_length=2000)
    clicks: int = Field(default=1)
    first_at: datetime = timestamp()
    last_at: datetime = timestamp()


class SendSlot(SQLModel, table=True):
    """Messages sent per rate-limit scope and window, e.g. email per minute or a user's day."""

    __tablename__ = "send_slot"

    scope: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(
        sa_column=Column(DateTime(timezone=True), primary_key=True, nullable=False)
    )
    used: int = Field(default=0)


class SendReservation(SQLModel, table=True):
    """When a held message may go, fixed once per effect key so a retry keeps its place."""

    __tablename__ = "send_reservation"

    effect_key: str = Field(primary_key=True, max_length=300)
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", index=True, ondelete="CASCADE"
    )
    send_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str | None = Field(default=None, max_length=300)


class HttpDelivery(SQLModel, table=True):
    """One HTTP post a sequence made, with the response it got."""

    __tablename__ = "http_delivery"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    effect_key: str = Field(unique=True, max_length=300)
    contact_id: uuid.UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", ondelete="CASCADE"
    )
    url: str
    status_code: int | None = None
    response_excerpt: str = Field(default="")
    created_at: datetime = timestamp()
