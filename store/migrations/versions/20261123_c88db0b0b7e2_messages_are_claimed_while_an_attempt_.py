"""messages are claimed while an attempt sends them

Revision ID: c88db0b0b7e2
Revises: 27a566b32b28
Create Date: 2026-11-23 16:12:29.302348
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c88db0b0b7e2"
down_revision: str | None = "27a566b32b28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("message", "claimed_until")
