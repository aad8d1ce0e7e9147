"""SQLModel tables. Migrations in store/migrations create them; nothing calls create_all."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Index, SmallInteger, Table, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, for hot statements that need no ORM objects: Core skips the ORM's work."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _timestamp() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def _optional_timestamp() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def _json(default: Any) -> Any:
    return Field(
        default_factory=lambda: type(default)(),
        sa_column=Column(JSONB, nullable=False, server_default=text(f"'{default!s}'::jsonb")),
    )


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    rep = "rep"
    integration = "integration"


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(default="", max_length=200)
    role: Role = Field(max_length=20)
    daily_send_cap: int | None = Field(
        default=None, ge=0, description="Most messages a day sent in this user's name."
    )
    created_at: datetime = _timestamp()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # Only a SHA-256 of the key is kept: keys are long random strings, so a fast hash is enough.
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = _optional_timestamp()


class Company(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _timestamp()


class Contact(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=40)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    owner_id: uuid.UUID | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    company_id: uuid.UUID | None = Field(
        default=None, foreign_key="company.id", index=True, ondelete="SET NULL"
    )
    fields: dict[str, Any] = _json({})
    fax: str | None = Field(default=None, max_length=40)
    mailing_address: dict[str, Any] = _json({})
    do_not_contact: list[str] = _json([])
    created_at: datetime = _timestamp()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self) -> str:
        return self.full_name or self.email or str(self.id)


class Tag(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    created_at: datetime = _timestamp()


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tag"

    contact_id: uuid.UUID = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    tag_id: uuid.UUID = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    applied_at: datetime = _timestamp()


class SequenceStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Sequence(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    status: SequenceStatus = Field(default=SequenceStatus.draft, max_length=20)
    # The editable draft; publishing copies it into an immutable SequenceVersion.
    definition: dict[str, Any] = _json({})
    latest_version: int | None = Field(default=None)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class SequenceVersion(SQLModel, table=True):
    __tablename__ = "sequence_version"
    __table_args__ = (UniqueConstraint("sequence_id", "version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", ondelete="CASCADE")
    version: int
    definition: dict[str, Any] = _json({})
    published_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    published_at: datetime = _timestamp()


class EnrollmentStatus(StrEnum):
    active = "active"
    stopped = "stopped"
    completed = "completed"
    failed = "failed"


class Enrollment(SQLModel, table=True):
    """Projection of an enrollment workflow, written by its activities, read by the API."""

    __table_args__ = (
        # Covers a sequence's report, so it can answer from the index without reading rows.
        Index(
            "ix_enrollment_report",
            "sequence_id",
            "status",
            "outcome",
            "current_step",
            postgresql_include=["version", "created_at"],
        ),
        Index("ix_enrollment_contact", "contact_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", ondelete="CASCADE")
    version: int
    contact_id: uuid.UUID = Field(foreign_key="contact.id", ondelete="CASCADE")
    workflow_id: str = Field(max_length=200, index=True)
    status: EnrollmentStatus = Field(default=EnrollmentStatus.active, max_length=20)
    current_step: str | None = Field(default=None, max_length=100)
    event_date: date | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=20)
    failure_reason: str | None = Field(default=None)
    enrolled_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Projection writes can arrive out of order after retries; the higher revision wins.
    revision: int = Field(default=0)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    ended_at: datetime | None = _optional_timestamp()
    # When it next moves on by itself: a delay or timer ending, a held message going, an event
    # wait running out.
    next_due_at: datetime | None = _optional_timestamp()


class EnrollmentEvent(SQLModel, table=True):
    """The enrollment's history, one row per thing that happened; the effect key makes writes idempotent."""

    __tablename__ = "enrollment_event"
    # The report counts completed steps; the other events it leaves alone.
    __table_args__ = (
        Index(
            "ix_enrollment_event_step_completed",
            "enrollment_id",
            "step_id",
            postgresql_where=text("kind = 'step_completed'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollment.id", index=True, ondelete="CASCADE")
    effect_key: str = Field(unique=True, max_length=300)
    kind: str = Field(max_length=50)
    track_id: str | None = Field(default=None, max_length=100)
    step_id: str | None = Field(default=None, max_length=100)
    detail: dict[str, Any] = _json({})
    occurred_at: datetime = _timestamp()


class ReportPosition(SQLModel, table=True):
    """How many of a sequence's enrollments stand where: a running tally kept by triggers on
    enrollment (see the report_tallies migration), so a whole sequence's report reads a few rows
    instead of every enrollment. Empty strings stand for no outcome or step; a tally is split
    into shards by enrollment, so that writers seldom wait on one row. No foreign key: the
    triggers must not stop the rows they count from being deleted."""

    __tablename__ = "report_position"

    sequence_id: uuid.UUID = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=20)
    outcome: str = Field(primary_key=True, max_length=20)
    current_step: str = Field(primary_key=True, max_length=100)
    shard: int = Field(primary_key=True, sa_type=SmallInteger)
    enrollments: int


class ReportStep(SQLModel, table=True):
    """Per step of a sequence, running tallies kept by triggers (as ReportPosition): enrollments
    that completed it (measure 'completed'), messages it sent by channel ('message'), and its
    to-dos' results ('result'), the label naming the channel or result."""

    __tablename__ = "report_step"

    sequence_id: uuid.UUID = Field(primary_key=True)
    step_id: str = Field(primary_key=True, max_length=100)
    measure: str = Field(primary_key=True, max_length=20)
    label: str = Field(primary_key=True, max_length=100)
    shard: int = Field(primary_key=True, sa_type=SmallInteger)
    count: int


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
    created_at: datetime = _timestamp()
    sent_at: datetime | None = _optional_timestamp()


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


class AppliedEffect(SQLModel, table=True):
    """Keys of database effects already applied, so a retried activity changes nothing twice."""

    __tablename__ = "applied_effect"

    effect_key: str = Field(primary_key=True, max_length=300)
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", index=True, ondelete="CASCADE"
    )
    applied_at: datetime = _timestamp()


class TaskStatus(StrEnum):
    open = "open"
    completed = "completed"
    cancelled = "cancelled"


TASK_TITLE_LENGTH = 300


class Task(SQLModel, table=True):
    """A to-do for a person: a call, a task or a manual email, usually created by a sequence."""

    __table_args__ = (Index("ix_task_assignee_status_due", "assigned_to", "status", "due_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    effect_key: str | None = Field(default=None, unique=True, max_length=300)
    contact_id: uuid.UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", index=True, ondelete="CASCADE"
    )
    workflow_id: str | None = Field(default=None, max_length=200)
    step_id: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=TASK_TITLE_LENGTH)
    instructions: str = Field(default="")
    assigned_to: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    due_at: datetime | None = _optional_timestamp()
    allowed_results: list[str] = _json([])
    opportunity_id: uuid.UUID | None = Field(
        default=None, foreign_key="opportunity.id", ondelete="SET NULL"
    )
    status: TaskStatus = Field(default=TaskStatus.open, max_length=20)
    result: str | None = Field(default=None, max_length=50)
    notes: str = Field(default="")
    completed_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    completed_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()


class ContactEvent(SQLModel, table=True):
    """Something the contact did (opened, clicked, replied, visited, bought), as reported to us."""

    __tablename__ = "contact_event"
    __table_args__ = (Index("ix_contact_event_contact_time", "contact_id", "occurred_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contact.id", ondelete="CASCADE")
    event: str = Field(max_length=50)
    name: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = _json({})
    occurred_at: datetime = _timestamp()


class SequenceRecord(SQLModel):
    """What every CRM record a process step writes has: its contact, its enrollment, and the
    effect key that makes a retried step find the record instead of writing it again."""

    effect_key: str | None = Field(default=None, unique=True, max_length=300)
    contact_id: uuid.UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", ondelete="CASCADE"
    )


class Note(SequenceRecord, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(default="system", max_length=20)
    body: str
    created_at: datetime = _timestamp()


class Appointment(SequenceRecord, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    title: str = Field(max_length=300)
    location: str = Field(default="", max_length=300)
    starts_at: datetime = _timestamp()
    ends_at: datetime = _timestamp()
    created_at: datetime = _timestamp()


class Opportunity(SequenceRecord, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    title: str = Field(max_length=300)
    stage: str = Field(max_length=100)
    value: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=2)
    status: str = Field(default="open", max_length=20)
    created_at: datetime = _timestamp()


class FulfillmentList(SQLModel, table=True):
    __tablename__ = "fulfillment_list"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = _timestamp()


class FulfillmentEntry(SequenceRecord, table=True):
    """A contact on a fulfilment list, with the mailing address as it was when added."""

    __tablename__ = "fulfillment_entry"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    list_id: uuid.UUID = Field(foreign_key="fulfillment_list.id", index=True, ondelete="CASCADE")
    mailing_address: dict[str, Any] = _json({})
    item: str = Field(default="", max_length=200)
    fulfilled_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()


class Order(SequenceRecord, table=True):
    __tablename__ = "sales_order"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    items: list[dict[str, Any]] = _json([])
    total: Decimal = Field(max_digits=14, decimal_places=2)
    payment: str = Field(max_length=20)
    created_at: datetime = _timestamp()


class WebhookReceipt(SQLModel, table=True):
    """A provider's event id, seen once: the same event delivered again changes nothing."""

    __tablename__ = "webhook_receipt"

    source: str = Field(primary_key=True, max_length=30)
    event_id: str = Field(primary_key=True, max_length=200)
    received_at: datetime = _timestamp()


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
    created_at: datetime = _timestamp()


class RoundRobin(SQLModel, table=True):
    """Whose turn it is in a step's round-robin owner assignment."""

    __tablename__ = "round_robin"

    key: str = Field(primary_key=True, max_length=300)
    turns: int = 0


class CustomField(SQLModel, table=True):
    """A custom contact field, declared so sequences can be checked against its type."""

    __tablename__ = "custom_field"

    name: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=20)
    label: str = Field(default="", max_length=200)
    created_at: datetime = _timestamp()


class SequenceShare(SQLModel, table=True):
    """A sequence a rep may enroll contacts into."""

    __tablename__ = "sequence_share"

    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    created_at: datetime = _timestamp()
