"""enrollment next due time

When an enrollment next moves on by itself (a delay ending, a held message going, an event wait
running out), as its workflow last projected it.

Revision ID: b7e2d9f4a1c3
Revises: a4f1b2c3d5e6
Create Date: 2026-12-02 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2d9f4a1c3"
down_revision: str | None = "a4f1b2c3d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrollment", sa.Column("next_due_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("enrollment", "next_due_at")
