"""report tallies kept by triggers

A report over a whole sequence read every enrollment of it, and joined its events, messages and
to-dos: 75 ms at 100,000 enrollments. Triggers now keep running tallies in report_position and
report_step in the transactions that change what they count; the report reads those.

Revision ID: 5d0e7a1c9b42
Revises: 3f1c2b7d9e60
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d0e7a1c9b42"
down_revision: str | None = "3f1c2b7d9e60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
-- Statement-level, over the rows each statement changed: a bulk enrollment of 10,000 contacts
-- is one upsert per tally, not 10,000. Tallies are upserted in key order, so two transactions
-- moving enrollments opposite ways lock them in the same order and cannot deadlock. Each tally
-- is split into shards by enrollment, so concurrent writers of one sequence seldom wait for
-- each other's commits; a report sums the shards.

CREATE FUNCTION report_shard(enrollment_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$ SELECT (hashtext(enrollment_id::text) & 7)::smallint $$;

CREATE FUNCTION report_positions_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_position AS t
        (sequence_id, status, outcome, current_step, shard, enrollments)
    SELECT sequence_id, status::text, coalesce(outcome, ''), coalesce(current_step, ''),
           report_shard(id), count(*)::integer
    FROM added GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, status, outcome, current_step, shard)
    DO UPDATE SET enrollments = t.enrollments + EXCLUDED.enrollments;
    RETURN NULL;
END $$;

CREATE FUNCTION report_positions_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_position AS t
        (sequence_id, status, outcome, current_step, shard, enrollments)
    SELECT sequence_id, status, outcome, current_step, shard, sum(delta)::integer
    FROM (
        SELECT sequence_id, status::text, coalesce(outcome, '') AS outcome,
               coalesce(current_step, '') AS current_step, report_shard(id) AS shard,
               -1 AS delta
        FROM before
        UNION ALL
        SELECT sequence_id, status::text, coalesce(outcome, ''), coalesce(current_step, ''),
               report_shard(id), 1
        FROM after
    ) moves
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, status, outcome, current_step, shard)
    DO UPDATE SET enrollments = t.enrollments + EXCLUDED.enrollments;
    RETURN NULL;
END $$;

CREATE FUNCTION report_positions_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_position t SET enrollments = t.enrollments - r.n
    FROM (SELECT sequence_id, status::text AS status, coalesce(outcome, '') AS outcome,
                 coalesce(current_step, '') AS current_step, report_shard(id) AS shard,
                 count(*)::integer AS n
          FROM removed GROUP BY 1, 2, 3, 4, 5) r
    WHERE (t.sequence_id, t.status, t.outcome, t.current_step, t.shard)
        = (r.sequence_id, r.status, r.outcome, r.current_step, r.shard);
    RETURN NULL;
END $$;

CREATE FUNCTION report_step_add(
    seq uuid, step text, measure_ text, label_ text, shard_ smallint, delta integer
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    VALUES (seq, step, measure_, label_, shard_, delta)
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count
$$;

-- An enrollment removed for good takes what it added to the step tallies with it; its
-- events, messages and to-dos go by cascade after this, and count nothing then.
CREATE FUNCTION report_untally_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_step_add(OLD.sequence_id, step_id, 'completed', '', report_shard(OLD.id), -1)
    FROM (SELECT DISTINCT step_id FROM enrollment_event
          WHERE enrollment_id = OLD.id AND kind = 'step_completed' AND step_id IS NOT NULL) s;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'message', channel, report_shard(OLD.id), -n)
    FROM (SELECT split_part(effect_key, ':', 3) AS step_id, channel, count(*)::integer AS n
          FROM message WHERE enrollment_id = OLD.id GROUP BY 1, 2) m;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'result', result, report_shard(OLD.id), -n)
    FROM (SELECT step_id, result, count(*)::integer AS n FROM task
          WHERE enrollment_id = OLD.id AND result IS NOT NULL AND step_id IS NOT NULL
          GROUP BY 1, 2) t;
    RETURN OLD;
END $$;

-- Enrollments' first completions of steps (a loop completes one again: counted once).
CREATE FUNCTION report_steps_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, n.step_id, 'completed', '', report_shard(e.id), count(*)::integer
    FROM (SELECT enrollment_id, step_id, min(id) AS first_id FROM added
          WHERE kind = 'step_completed' AND step_id IS NOT NULL GROUP BY 1, 2) n
    JOIN enrollment e ON e.id = n.enrollment_id
    WHERE NOT EXISTS (
        SELECT 1 FROM enrollment_event x
        WHERE x.enrollment_id = n.enrollment_id AND x.step_id = n.step_id
          AND x.kind = 'step_completed' AND x.id < n.first_id)
    GROUP BY 1, 2, 5 ORDER BY 1, 2, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

-- Messages recorded by steps (an effect key is enrollment:track:step:visit).
CREATE FUNCTION report_messages_sent() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- To-dos' results, set or changed.
CREATE FUNCTION report_results_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, a.step_id, 'result', a.result, report_shard(e.id), count(*)::integer
    FROM added a JOIN enrollment e ON e.id = a.enrollment_id
    WHERE a.result IS NOT NULL AND a.step_id IS NOT NULL
    GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION report_results_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, c.step_id, 'result', c.result, report_shard(e.id), sum(c.delta)::integer
    FROM (
        SELECT b.enrollment_id, b.step_id, b.result, -1 AS delta
        FROM before b JOIN after a ON a.id = b.id
        WHERE b.result IS NOT NULL AND b.result IS DISTINCT FROM a.result
        UNION ALL
        SELECT a.enrollment_id, a.step_id, a.result, 1
        FROM after a JOIN before b ON b.id = a.id
        WHERE a.result IS NOT NULL AND a.result IS DISTINCT FROM b.result
    ) c
    JOIN enrollment e ON e.id = c.enrollment_id
    WHERE c.step_id IS NOT NULL
    GROUP BY 1, 2, 4, 5 HAVING sum(c.delta) <> 0 ORDER BY 1, 2, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE TRIGGER report_positions_added AFTER INSERT ON enrollment
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION report_positions_added();
CREATE TRIGGER report_positions_moved AFTER UPDATE ON enrollment
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION report_positions_moved();
CREATE TRIGGER report_positions_removed AFTER DELETE ON enrollment
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION report_positions_removed();
CREATE TRIGGER report_untally_steps BEFORE DELETE ON enrollment
    FOR EACH ROW EXECUTE FUNCTION report_untally_steps();
CREATE TRIGGER report_steps_completed AFTER INSERT ON enrollment_event
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION report_steps_completed();
CREATE TRIGGER report_messages_sent AFTER INSERT ON message
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION report_messages_sent();
CREATE TRIGGER report_results_added AFTER INSERT ON task
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION report_results_added();
CREATE TRIGGER report_results_changed AFTER UPDATE ON task
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION report_results_changed();
"""

# What the triggers would have counted, for the rows already there.
BACKFILL = """
INSERT INTO report_position (sequence_id, status, outcome, current_step, shard, enrollments)
SELECT sequence_id, status::text, coalesce(outcome, ''), coalesce(current_step, ''),
       report_shard(id), count(*)
FROM enrollment GROUP BY 1, 2, 3, 4, 5;

INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count)
SELECT e.sequence_id, ev.step_id, 'completed', '', report_shard(e.id),
       count(DISTINCT ev.enrollment_id)
FROM enrollment_event ev JOIN enrollment e ON e.id = ev.enrollment_id
WHERE ev.kind = 'step_completed' AND ev.step_id IS NOT NULL GROUP BY 1, 2, 5;

INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count)
SELECT e.sequence_id, split_part(m.effect_key, ':', 3), 'message', m.channel,
       report_shard(e.id), count(*)
FROM message m JOIN enrollment e ON e.id = m.enrollment_id GROUP BY 1, 2, 4, 5;

INSERT INTO report_step (sequence_id, step_id, measure, label, shard, count)
SELECT e.sequence_id, t.step_id, 'result', t.result, report_shard(e.id), count(*)
FROM task t JOIN enrollment e ON e.id = t.enrollment_id
WHERE t.result IS NOT NULL AND t.step_id IS NOT NULL GROUP BY 1, 2, 4, 5;
"""


def upgrade() -> None:
    op.create_table(
        "report_position",
        sa.Column("sequence_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("current_step", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("enrollments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sequence_id", "status", "outcome", "current_step", "shard"),
    )
    op.create_table(
        "report_step",
        sa.Column("sequence_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sequence_id", "step_id", "measure", "label", "shard"),
    )
    op.execute(FUNCTIONS)
    op.execute(BACKFILL)


TRIGGERS = (
    ("report_positions_added", "enrollment"),
    ("report_positions_moved", "enrollment"),
    ("report_positions_removed", "enrollment"),
    ("report_untally_steps", "enrollment"),
    ("report_steps_completed", "enrollment_event"),
    ("report_messages_sent", "message"),
    ("report_results_added", "task"),
    ("report_results_changed", "task"),
)


def downgrade() -> None:
    for trigger, table in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for trigger, _ in TRIGGERS:
        op.execute(f"DROP FUNCTION {trigger}()")
    op.execute("DROP FUNCTION report_step_add(uuid, text, text, text, smallint, integer)")
    op.execute("DROP FUNCTION report_shard(uuid)")
    op.drop_table("report_step")
    op.drop_table("report_position")
