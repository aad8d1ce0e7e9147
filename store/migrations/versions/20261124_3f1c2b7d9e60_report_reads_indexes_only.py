"""report reads indexes only

Revision ID: 3f1c2b7d9e60
Revises: c88db0b0b7e2
Create Date: 2026-11-24 07:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1c2b7d9e60"
down_revision: str | None = "c88db0b0b7e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollment_report",
        "enrollment",
        ["sequence_id", "status", "outcome", "current_step"],
        postgresql_include=["version", "created_at"],
    )
    op.drop_index("ix_enrollment_sequence_status", table_name="enrollment")
    op.create_index(
        "ix_enrollment_event_step_completed",
        "enrollment_event",
        ["enrollment_id", "step_id"],
        postgresql_where=sa.text("kind = 'step_completed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_enrollment_event_step_completed", table_name="enrollment_event")
    op.create_index("ix_enrollment_sequence_status", "enrollment", ["sequence_id", "status"])
    op.drop_index("ix_enrollment_report", table_name="enrollment")
