"""people sign in to the web app

Users may have a password (an argon2id hash); web_session holds signed-in browsers (a hash of
the cookie's token, and the CSRF token of their forms); sign_in_link the one-time links sent by
email, invitations among them.

Revision ID: f3a9c7e1d5b2
Revises: e8a1f3c5b7d9
Create Date: 2026-12-02 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f3a9c7e1d5b2"
down_revision: str | None = "e8a1f3c5b7d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _signing_in(table: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        table,
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        *columns,
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(f"ix_{table}_user_id", table, ["user_id"])


def upgrade() -> None:
    op.add_column(
        "user",
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    _signing_in(
        "web_session",
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    )
    _signing_in("sign_in_link", sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_table("sign_in_link")
    op.drop_table("web_session")
    op.drop_column("user", "password_hash")
