"""sending: html, sender, provider ids, rate-limit slots

Revision ID: 27a566b32b28
Revises: f2eb28c87d5a
Create Date: 2026-11-23 15:32:43.076056
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "27a566b32b28"
down_revision: str | None = "f2eb28c87d5a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Providers report delivery and bounces; PostgreSQL enum values cannot be dropped again.
    op.execute("ALTER TYPE messagestatus ADD VALUE IF NOT EXISTS 'delivered'")
    op.execute("ALTER TYPE messagestatus ADD VALUE IF NOT EXISTS 'bounced'")
    op.create_table(
        "send_slot",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "window_start"),
    )
    op.create_table(
        "send_reservation",
        sa.Column("effect_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("effect_key"),
    )
    op.create_index(
        op.f("ix_send_reservation_enrollment_id"),
        "send_reservation",
        ["enrollment_id"],
        unique=False,
    )
    op.add_column(
        "message", sa.Column("html_body", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    op.add_column(
        "message", sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
    )
    op.add_column(
        "message",
        sa.Column("reply_to", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    )
    op.add_column("message", sa.Column("sent_by", sa.Uuid(), nullable=True))
    op.add_column(
        "message",
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    )
    op.add_column(
        "message",
        sa.Column("status_detail", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    )
    op.create_index(op.f("ix_message_provider_id"), "message", ["provider_id"], unique=False)
    op.create_foreign_key(
        "message_sent_by_fkey", "message", "user", ["sent_by"], ["id"], ondelete="SET NULL"
    )
    op.add_column("user", sa.Column("daily_send_cap", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("user", "daily_send_cap")
    op.drop_constraint("message_sent_by_fkey", "message", type_="foreignkey")
    op.drop_index(op.f("ix_message_provider_id"), table_name="message")
    op.drop_column("message", "status_detail")
    op.drop_column("message", "provider_id")
    op.drop_column("message", "sent_by")
    op.drop_column("message", "reply_to")
    op.drop_column("message", "sender")
    op.drop_column("message", "html_body")
    op.drop_index(op.f("ix_send_reservation_enrollment_id"), table_name="send_reservation")
    op.drop_table("send_reservation")
    op.drop_table("send_slot")
