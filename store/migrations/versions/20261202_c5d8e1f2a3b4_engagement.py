"""engagement: what recipients did with each message, tallied per step

A message keeps when it was first opened by a person, opened by a machine (a privacy proxy
fetching images), clicked, replied to and unsubscribed from; message_click keeps each link's
clicks. Messages can continue the thread of an earlier one, and be sent tracked. The report's
tallies gain a measure per fact and one per link; report_step's label grows to hold a URL.

Revision ID: c5d8e1f2a3b4
Revises: b7e2d9f4a1c3
Create Date: 2026-12-02 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c5d8e1f2a3b4"
down_revision: str | None = "b7e2d9f4a1c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = ("opened_at", "machine_opened_at", "clicked_at", "replied_at", "unsubscribed_at")
# A URL longer than this is tallied under its first characters.
LINK_LABEL = 500

FUNCTIONS = f"""
-- Every tally one message adds to its step: handed over or queued (by channel), and what its
-- recipient did with it.
CREATE FUNCTION report_message_tallies(
    channel text, status text, opened timestamptz, machine_opened timestamptz,
    clicked timestamptz, replied timestamptz, unsubscribed timestamptz
) RETURNS TABLE (measure text, label text) LANGUAGE sql IMMUTABLE AS $$
    SELECT report_message_measure(status), channel WHERE report_message_measure(status) IS NOT NULL
    UNION ALL SELECT 'bounced', '' WHERE status = 'bounced'
    UNION ALL SELECT 'opened', '' WHERE opened IS NOT NULL
    UNION ALL SELECT 'machine_opened', '' WHERE machine_opened IS NOT NULL
    UNION ALL SELECT 'clicked', '' WHERE clicked IS NOT NULL
    UNION ALL SELECT 'replied', '' WHERE replied IS NOT NULL
    UNION ALL SELECT 'unsubscribed', '' WHERE unsubscribed IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION report_messages_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, c.step_id, c.measure, c.label, report_shard(e.id),
           sum(c.delta)::integer
    FROM (
        SELECT b.enrollment_id, split_part(b.effect_key, ':', 3) AS step_id, f.measure, f.label,
               -1 AS delta
        FROM before b JOIN after a ON a.id = b.id
        CROSS JOIN LATERAL report_message_tallies(
            b.channel, b.status::text, b.opened_at, b.machine_opened_at, b.clicked_at,
            b.replied_at, b.unsubscribed_at) f
        UNION ALL
        SELECT a.enrollment_id, split_part(a.effect_key, ':', 3), f.measure, f.label, 1
        FROM after a JOIN before b ON b.id = a.id
        CROSS JOIN LATERAL report_message_tallies(
            a.channel, a.status::text, a.opened_at, a.machine_opened_at, a.clicked_at,
            a.replied_at, a.unsubscribed_at) f
    ) c
    JOIN enrollment e ON e.id = c.enrollment_id
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(c.delta) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

-- A link's first click in a message: one more message whose recipient clicked it.
CREATE FUNCTION report_links_clicked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, split_part(m.effect_key, ':', 3), 'link', left(a.url, {LINK_LABEL}),
           report_shard(e.id), count(*)::integer
    FROM added a JOIN message m ON m.id = a.message_id JOIN enrollment e ON e.id = m.enrollment_id
    GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_untally_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_step_add(OLD.sequence_id, step_id, 'completed', '', report_shard(OLD.id), -1)
    FROM (SELECT DISTINCT step_id FROM enrollment_event
          WHERE enrollment_id = OLD.id AND kind = 'step_completed' AND step_id IS NOT NULL) s;
    PERFORM report_step_add(OLD.sequence_id, step_id, measure, label, report_shard(OLD.id), -n)
    FROM (SELECT split_part(m.effect_key, ':', 3) AS step_id, f.measure, f.label,
                 count(*)::integer AS n
          FROM message m CROSS JOIN LATERAL report_message_tallies(
              m.channel, m.status::text, m.opened_at, m.machine_opened_at, m.clicked_at,
              m.replied_at, m.unsubscribed_at) f
          WHERE m.enrollment_id = OLD.id GROUP BY 1, 2, 3) m;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'link', url, report_shard(OLD.id), -n)
    FROM (SELECT split_part(m.effect_key, ':', 3) AS step_id, left(c.url, {LINK_LABEL}) AS url,
                 count(*)::integer AS n
          FROM message_click c JOIN message m ON m.id = c.message_id
          WHERE m.enrollment_id = OLD.id GROUP BY 1, 2) c;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'result', result, report_shard(OLD.id), -n)
    FROM (SELECT step_id, result, count(*)::integer AS n FROM task
          WHERE enrollment_id = OLD.id AND result IS NOT NULL AND step_id IS NOT NULL
          GROUP BY 1, 2) t;
    RETURN OLD;
END $$;

CREATE TRIGGER report_links_clicked AFTER INSERT ON message_click
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION report_links_clicked();
"""

# Bounces are the one fact messages already kept.
BACKFILL = """
INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count)
SELECT e.sequence_id, split_part(m.effect_key, ':', 3), 'bounced', '', report_shard(e.id), count(*)
FROM message m JOIN enrollment e ON e.id = m.enrollment_id
WHERE m.status::text = 'bounced' GROUP BY 1, 2, 5;
"""

# The untally as the previous revision left it.
PREVIOUS_UNTALLY = """
CREATE OR REPLACE FUNCTION report_untally_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_step_add(OLD.sequence_id, step_id, 'completed', '', report_shard(OLD.id), -1)
    FROM (SELECT DISTINCT step_id FROM enrollment_event
          WHERE enrollment_id = OLD.id AND kind = 'step_completed' AND step_id IS NOT NULL) s;
    PERFORM report_step_add(OLD.sequence_id, step_id, measure, channel, report_shard(OLD.id), -n)
    FROM (SELECT split_part(effect_key, ':', 3) AS step_id,
                 report_message_measure(status::text) AS measure, channel,
                 count(*)::integer AS n
          FROM message WHERE enrollment_id = OLD.id
          AND report_message_measure(status::text) IS NOT NULL GROUP BY 1, 2, 3) m;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'result', result, report_shard(OLD.id), -n)
    FROM (SELECT step_id, result, count(*)::integer AS n FROM task
          WHERE enrollment_id = OLD.id AND result IS NOT NULL AND step_id IS NOT NULL
          GROUP BY 1, 2) t;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION report_messages_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, c.step_id, c.measure, c.channel, report_shard(e.id),
           sum(c.delta)::integer
    FROM (
        SELECT b.enrollment_id, split_part(b.effect_key, ':', 3) AS step_id, b.channel,
               report_message_measure(b.status::text) AS measure, -1 AS delta
        FROM before b JOIN after a ON a.id = b.id
        UNION ALL
        SELECT a.enrollment_id, split_part(a.effect_key, ':', 3), a.channel,
               report_message_measure(a.status::text), 1
        FROM after a JOIN before b ON b.id = a.id
    ) c
    JOIN enrollment e ON e.id = c.enrollment_id
    WHERE c.measure IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(c.delta) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    for fact in FACTS:
        op.add_column("message", sa.Column(fact, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "message", sa.Column("tracked", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("message", sa.Column("thread_of", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "message_thread_of_fkey", "message", "message", ["thread_of"], ["id"], ondelete="SET NULL"
    )
    op.create_table(
        "message_click",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column(
            "first_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "last_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "url"),
    )
    op.alter_column(
        "report_step",
        "label",
        type_=sqlmodel.sql.sqltypes.AutoString(length=LINK_LABEL),
        existing_nullable=False,
    )
    op.execute(FUNCTIONS)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER report_links_clicked ON message_click")
    op.execute("DROP FUNCTION report_links_clicked()")
    op.execute(PREVIOUS_UNTALLY)
    op.execute(
        "DROP FUNCTION report_message_tallies(text, text, timestamptz, timestamptz, "
        "timestamptz, timestamptz, timestamptz)"
    )
    op.execute(
        "DELETE FROM report_step WHERE measure IN "
        "('bounced', 'opened', 'machine_opened', 'clicked', 'replied', 'unsubscribed', 'link')"
    )
    op.alter_column(
        "report_step",
        "label",
        type_=sqlmodel.sql.sqltypes.AutoString(length=100),
        existing_nullable=False,
    )
    op.drop_table("message_click")
    op.drop_constraint("message_thread_of_fkey", "message", type_="foreignkey")
    op.drop_column("message", "thread_of")
    op.drop_column("message", "tracked")
    for fact in FACTS:
        op.drop_column("message", fact)
