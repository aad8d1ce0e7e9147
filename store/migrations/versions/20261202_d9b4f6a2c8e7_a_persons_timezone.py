"""a person's timezone

A rep's "today" on the To-Do list, and the times the app shows them, are their own day's.

Revision ID: d9b4f6a2c8e7
Revises: c5e2a8f4d1b3
Create Date: 2026-12-02 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9b4f6a2c8e7"
down_revision: str | None = "c5e2a8f4d1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("user", "timezone")
