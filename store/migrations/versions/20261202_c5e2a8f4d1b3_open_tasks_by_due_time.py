"""open to-dos by due time

Everyone's to-do list (managers', admins') reads the open to-dos soonest first: an index of
only the open ones, in that order, reads a page of it without sorting them all.

Revision ID: c5e2a8f4d1b3
Revises: a7d4c2b9e8f1
Create Date: 2026-12-02 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5e2a8f4d1b3"
down_revision: str | None = "a7d4c2b9e8f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_task_open_due",
        "task",
        ["due_at", "id"],
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_task_open_due", table_name="task")
