"""to-dos can be skipped

A person may pass over a to-do: its sequence goes on to the next step without a result.

Revision ID: a7d4c2b9e8f1
Revises: f3a9c7e1d5b2
Create Date: 2026-12-02 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7d4c2b9e8f1"
down_revision: str | None = "f3a9c7e1d5b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE taskstatus ADD VALUE IF NOT EXISTS 'skipped'")


def downgrade() -> None:
    # PostgreSQL enum values cannot be dropped again; skipped to-dos read as cancelled.
    op.execute("UPDATE task SET status = 'cancelled' WHERE status::text = 'skipped'")
