"""Column helpers every table uses: timestamps in UTC, JSON with a server default."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Table, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, for hot statements that need no ORM objects: Core skips the ORM's work."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def timestamp() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def optional_timestamp() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def json_column(default: Any) -> Any:
    return Field(
        default_factory=lambda: type(default)(),
        sa_column=Column(JSONB, nullable=False, server_default=text(f"'{default!s}'::jsonb")),
    )
