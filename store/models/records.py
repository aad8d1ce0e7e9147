"""People's to-dos and the CRM records process steps write."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from store.models.columns import json_column, optional_timestamp, timestamp


class TaskStatus(StrEnum):
    open = "open"
    completed = "completed"
    cancelled = "cancelled"
    # Passed over by a person: its sequence went on without a result.
    skipped = "skipped"


TASK_TITLE_LENGTH = 300


class Task(SQLModel, table=True):
    """A to-do for a person: a call, a task or a manual email, usually created by a sequence."""

    __table_args__ = (
        Index("ix_task_assignee_status_due", "assigned_to", "status", "due_at"),
        # Everyone's open to-dos, soonest first, a page at a time.
        Index("ix_task_open_due", "due_at", "id", postgresql_where=text("status = 'open'")),
    )

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
    due_at: datetime | None = optional_timestamp()
    allowed_results: list[str] = json_column([])
    opportunity_id: uuid.UUID | None = Field(
        default=None, foreign_key="opportunity.id", ondelete="SET NULL"
    )
    status: TaskStatus = Field(default=TaskStatus.open, max_length=20)
    result: str | None = Field(default=None, max_length=50)
    notes: str = Field(default="")
    completed_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    completed_at: datetime | None = optional_timestamp()
    created_at: datetime = timestamp()


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
    created_at: datetime = timestamp()


class Appointment(SequenceRecord, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    title: str = Field(max_length=300)
    location: str = Field(default="", max_length=300)
    starts_at: datetime = timestamp()
    ends_at: datetime = timestamp()
    created_at: datetime = timestamp()


class Opportunity(SequenceRecord, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    title: str = Field(max_length=300)
    stage: str = Field(max_length=100)
    value: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=2)
    status: str = Field(default="open", max_length=20)
    created_at: datetime = timestamp()


class FulfillmentList(SQLModel, table=True):
    __tablename__ = "fulfillment_list"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = timestamp()


class FulfillmentEntry(SequenceRecord, table=True):
    """A contact on a fulfilment list, with the mailing address as it was when added."""

    __tablename__ = "fulfillment_entry"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    list_id: uuid.UUID = Field(foreign_key="fulfillment_list.id", index=True, ondelete="CASCADE")
    mailing_address: dict[str, Any] = json_column({})
    item: str = Field(default="", max_length=200)
    fulfilled_at: datetime | None = optional_timestamp()
    created_at: datetime = timestamp()


class Order(SequenceRecord, table=True):
    __tablename__ = "sales_order"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    items: list[dict[str, Any]] = json_column([])
    total: Decimal = Field(max_digits=14, decimal_places=2)
    payment: str = Field(max_length=20)
    created_at: datetime = timestamp()


class RoundRobin(SQLModel, table=True):
    """Whose turn it is in a step's round-robin owner assignment."""

    __tablename__ = "round_robin"

    key: str = Field(primary_key=True, max_length=300)
    turns: int = 0
