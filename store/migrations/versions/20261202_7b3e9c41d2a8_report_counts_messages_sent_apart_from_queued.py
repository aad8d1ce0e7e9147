"""report counts messages sent apart from those queued

The tallies counted a message when it was recorded, so an SMS queued for want of a provider
counted as sent. A message now counts under `message` once handed to its channel (sent,
delivered or bounced) and under `queued` while it waits, moving between them as its status
changes; a failed one counts under neither.

Revision ID: 7b3e9c41d2a8
Revises: 5d0e7a1c9b42
Create Date: 2026-12-02 00:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7b3e9c41d2a8"
down_revision: str | None = "5d0e7a1c9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE FUNCTION report_message_measure(status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status IN ('sent', 'delivered', 'bounced') THEN 'message'
                WHEN status = 'queued' THEN 'queued' END
$$;

CREATE OR REPLACE FUNCTION report_messages_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, split_part(a.effect_key, ':', 3),
           report_message_measure(a.status::text), a.channel, report_shard(e.id),
           count(*)::integer
    FROM added a JOIN enrollment e ON e.id = a.enrollment_id
    WHERE report_message_measure(a.status::text) IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION report_messages_moved() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER report_messages_moved AFTER UPDATE ON message
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION report_messages_moved();
"""

RECOUNT = """
DELETE FROM report_step WHERE measure IN ('message', 'queued');
INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count)
SELECT e.sequence_id, split_part(m.effect_key, ':', 3), report_message_measure(m.status::text),
       m.channel, report_shard(e.id), count(*)
FROM message m JOIN enrollment e ON e.id = m.enrollment_id
WHERE report_message_measure(m.status::text) IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(RECOUNT)


def downgrade() -> None:
    op.execute("DROP TRIGGER report_messages_moved ON message")
    op.execute("DROP FUNCTION report_messages_moved()")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION report_messages_sent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
            SELECT e.sequence_id, split_part(a.effect_key, ':', 3), 'message', a.channel,
                   report_shard(e.id), count(*)::integer
            FROM added a JOIN enrollment e ON e.id = a.enrollment_id
            GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
            ON CONFLICT (sequence_id, step_id, measure, label, shard)
            DO UPDATE SET count = t.count + EXCLUDED.count;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION report_untally_steps() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM report_step_add(OLD.sequence_id, step_id, 'completed', '',
                                    report_shard(OLD.id), -1)
            FROM (SELECT DISTINCT step_id FROM enrollment_event
                  WHERE enrollment_id = OLD.id AND kind = 'step_completed'
                  AND step_id IS NOT NULL) s;
            PERFORM report_step_add(OLD.sequence_id, step_id, 'message', channel,
                                    report_shard(OLD.id), -n)
            FROM (SELECT split_part(effect_key, ':', 3) AS step_id, channel,
                         count(*)::integer AS n
                  FROM message WHERE enrollment_id = OLD.id GROUP BY 1, 2) m;
            PERFORM report_step_add(OLD.sequence_id, step_id, 'result', result,
                                    report_shard(OLD.id), -n)
            FROM (SELECT step_id, result, count(*)::integer AS n FROM task
                  WHERE enrollment_id = OLD.id AND result IS NOT NULL AND step_id IS NOT NULL
                  GROUP BY 1, 2) t;
            RETURN OLD;
        END $$;
        """
    )
    op.execute("DELETE FROM report_step WHERE measure IN ('message', 'queued')")
    op.execute(
        "INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count) "
        "SELECT e.sequence_id, split_part(m.effect_key, ':', 3), 'message', m.channel, "
        "report_shard(e.id), count(*) FROM message m JOIN enrollment e "
        "ON e.id = m.enrollment_id GROUP BY 1, 2, 4, 5"
    )
    op.execute("DROP FUNCTION report_message_measure(text)")
