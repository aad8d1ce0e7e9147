"""contact phones in E.164

Numbers were kept as typed, so `+1 (555) 987-7430` never matched the `+15559877430` a carrier
reports, and a STOP from it opted nobody out. Each stored number that parses is rewritten in
E.164 (one without a country code read in DEFAULT_PHONE_REGION); one that does not is left as
it was, for a person to correct, since new numbers that do not parse are refused.

Revision ID: 9c2d4e6f8a10
Revises: 7b3e9c41d2a8
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sequences.phones import to_e164
from settings import get_settings

revision: str = "9c2d4e6f8a10"
down_revision: str | None = "7b3e9c41d2a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    region = get_settings().default_phone_region
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, phone FROM contact WHERE phone IS NOT NULL"))
    for contact_id, phone in list(rows):
        try:
            normalized = to_e164(phone, region)
        except ValueError:
            continue
        if normalized != phone:
            connection.execute(
                sa.text("UPDATE contact SET phone = :phone WHERE id = :id"),
                {"phone": normalized, "id": contact_id},
            )


def downgrade() -> None:
    """The numbers as typed are not kept: E.164 stays, which every version reads."""
