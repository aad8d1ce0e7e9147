-- The trigger functions as revision c5d8e1f2a3b4 left them, which its downgrade restores.

CREATE OR REPLACE FUNCTION public.report_links_clicked()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, split_part(m.effect_key, ':', 3), 'link', left(a.url, 500),
           report_shard(e.id), count(*)::integer
    FROM added a JOIN message m ON m.id = a.message_id JOIN enrollment e ON e.id = m.enrollment_id
    GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.report_messages_moved()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.report_messages_sent()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.report_positions_added()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO report_position AS t
        (sequence_id, status, outcome, current_step, shard, enrollments)
    SELECT sequence_id, status::text, coalesce(outcome, ''), coalesce(current_step, ''),
           report_shard(id), count(*)::integer
    FROM added GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (sequence_id, status, outcome, current_step, shard)
    DO UPDATE SET enrollments = t.enrollments + EXCLUDED.enrollments;
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.report_positions_moved()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.report_positions_removed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE report_position t SET enrollments = t.enrollments - r.n
    FROM (SELECT sequence_id, status::text AS status, coalesce(outcome, '') AS outcome,
                 coalesce(current_step, '') AS current_step, report_shard(id) AS shard,
                 count(*)::integer AS n
          FROM removed GROUP BY 1, 2, 3, 4, 5) r
    WHERE (t.sequence_id, t.status, t.outcome, t.current_step, t.shard)
        = (r.sequence_id, r.status, r.outcome, r.current_step, r.shard);
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.report_results_added()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    SELECT e.sequence_id, a.step_id, 'result', a.result, report_shard(e.id), count(*)::integer
    FROM added a JOIN enrollment e ON e.id = a.enrollment_id
    WHERE a.result IS NOT NULL AND a.step_id IS NOT NULL
    GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.report_results_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.report_step_add(seq uuid, step text, measure_ text, label_ text, shard_ smallint, delta integer)
 RETURNS void
 LANGUAGE sql
AS $function$
    INSERT INTO report_step AS t (sequence_id, step_id, measure, label, shard, count)
    VALUES (seq, step, measure_, label_, shard_, delta)
    ON CONFLICT (sequence_id, step_id, measure, label, shard)
    DO UPDATE SET count = t.count + EXCLUDED.count
$function$;

CREATE OR REPLACE FUNCTION public.report_steps_completed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.report_untally_steps()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
    FROM (SELECT split_part(m.effect_key, ':', 3) AS step_id, left(c.url, 500) AS url,
                 count(*)::integer AS n
          FROM message_click c JOIN message m ON m.id = c.message_id
          WHERE m.enrollment_id = OLD.id GROUP BY 1, 2) c;
    PERFORM report_step_add(OLD.sequence_id, step_id, 'result', result, report_shard(OLD.id), -n)
    FROM (SELECT step_id, result, count(*)::integer AS n FROM task
          WHERE enrollment_id = OLD.id AND result IS NOT NULL AND step_id IS NOT NULL
          GROUP BY 1, 2) t;
    RETURN OLD;
END $function$;
