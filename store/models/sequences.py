"""Sequences, their immutable published versions, and whom they are shared with."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models.columns import json_column, timestamp


class SequenceStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Sequence(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    status: SequenceStatus = Field(default=SequenceStatus.draft, max_length=20)
    # The editable draft; publishing copies it into an immutable SequenceVersion.
    definition: dict[str, Any] = json_column({})
    latest_version: int | None = Field(default=None)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class SequenceVersion(SQLModel, table=True):
    __tablename__ = "sequence_version"
    __table_args__ = (UniqueConstraint("sequence_id", "version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", ondelete="CASCADE")
    version: int
    definition: dict[str, Any] = json_column({})
    published_by: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    published_at: datetime = timestamp()


class SequenceShare(SQLModel, table=True):
    """A sequence a rep may enroll contacts into."""

    __tablename__ = "sequence_share"

    sequence_id: uuid.UUID = Field(foreign_key="sequence.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    created_at: datetime = timestamp()
