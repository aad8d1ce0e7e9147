"""The enrollment projection and its history, report tallies, effect claims, and what
contacts did."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from store.models.columns import json_column, optional_timestamp, timestamp


class EnrollmentStatus(StrEnum):
    active = "active"
    stopped = "stopped"
    completed = "completed"
    failed = "failed"


class Enrollment(SQLModel, table=True):
    """Projection of an enrollment workflow, written by its activities, read by the API."""

    __table_args__ = (
        # A sequence's enrollments, newest first (the lists page through them).
        Index("ix_enrollment_sequence_created", "sequence_id", "created_at"),
        Index("ix_enrollment_contact", "contact_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", ondelete="CASCADE")
    # `version` follows a migration to a later one; the report counts an enrollment under the
    # version it was enrolled on.
    version: int
    enrolled_version: int
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
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    ended_at: datetime | None = optional_timestamp()
    # When it next moves on by itself: a delay or timer ending, a held message going, an event
    # wait running out.
    next_due_at: datetime | None = optional_timestamp()


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
    detail: dict[str, Any] = json_column({})
    occurred_at: datetime = timestamp()


class ReportPosition(SQLModel, table=True):
    """How many of a sequence's enrollments stand where: a running tally kept by triggers on
    enrollment (see the report_tallies migrations), so a report reads a few rows instead of
    every enrollment. Kept per cohort, the version enrolled on and the UTC day (`enrolled_on`),
    and for all days together under the day -infinity. Empty strings stand for no outcome or
    step; a tally is split into shards by enrollment, so that writers seldom wait on one row.
    No foreign key: the triggers must not stop the rows they count from being deleted."""

    __tablename__ = "report_position"

    sequence_id: uuid.UUID = Field(primary_key=True)
    # A whole sequence's tallies (day -infinity) lie together, then each day's.
    enrolled_on: date = Field(primary_key=True)
    version: int = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=20)
    outcome: str = Field(primary_key=True, max_length=20)
    current_step: str = Field(primary_key=True, max_length=100)
    shard: int = Field(primary_key=True, sa_type=SmallInteger)
    enrollments: int


class ReportStep(SQLModel, table=True):
    """Per step of a sequence, running tallies kept by triggers (as ReportPosition): enrollments
    that completed it (measure 'completed'), messages it sent by channel ('message'), what their
    recipients did ('opened', 'clicked', 'replied'... and 'link' per URL clicked), and its
    to-dos' results ('result'), the label naming the channel, URL or result; per cohort."""

    __tablename__ = "report_step"

    sequence_id: uuid.UUID = Field(primary_key=True)
    # A whole sequence's tallies (day -infinity) lie together, then each day's.
    enrolled_on: date = Field(primary_key=True)
    version: int = Field(primary_key=True)
    step_id: str = Field(primary_key=True, max_length=100)
    measure: str = Field(primary_key=True, max_length=20)
    label: str = Field(primary_key=True, max_length=500)
    shard: int = Field(primary_key=True, sa_type=SmallInteger)
    count: int


class AppliedEffect(SQLModel, table=True):
    """Keys of database effects already applied, so a retried activity changes nothing twice."""

    __tablename__ = "applied_effect"

    effect_key: str = Field(primary_key=True, max_length=300)
    enrollment_id: uuid.UUID | None = Field(
        default=None, foreign_key="enrollment.id", index=True, ondelete="CASCADE"
    )
    applied_at: datetime = timestamp()


class ContactEvent(SQLModel, table=True):
    """Something the contact did (opened, clicked, replied, visited, bought), as reported to us."""

    __tablename__ = "contact_event"
    __table_args__ = (Index("ix_contact_event_contact_time", "contact_id", "occurred_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contact.id", ondelete="CASCADE")
    event: str = Field(max_length=50)
    name: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = json_column({})
    occurred_at: datetime = timestamp()


class WebhookReceipt(SQLModel, table=True):
    """A provider's event id, seen once: the same event delivered again changes nothing."""

    __tablename__ = "webhook_receipt"

    source: str = Field(primary_key=True, max_length=30)
    event_id: str = Field(primary_key=True, max_length=200)
    received_at: datetime = timestamp()
