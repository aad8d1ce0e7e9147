"""A sequence's report, computed in PostgreSQL with a few grouped queries."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The enrollments a report covers: one sequence, optionally one version and a date range.
_SCOPE = """
    e.sequence_id = :sequence_id
    AND (CAST(:version AS integer) IS NULL OR e.version = :version)
    AND (CAST(:since AS timestamptz) IS NULL OR e.created_at >= :since)
    AND (CAST(:until AS timestamptz) IS NULL OR e.created_at < :until)
"""


async def sequence_report(
    session: AsyncSession,
    sequence_id: uuid.UUID,
    *,
    version: int | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    params = {"sequence_id": sequence_id, "version": version, "since": since, "until": until}

    async def rows(sql: str) -> list[Any]:
        return list(await session.execute(text(sql), params))

    statuses = await rows(f"SELECT e.status, count(*) FROM enrollment e WHERE {_SCOPE} GROUP BY 1")
    outcomes = await rows(
        f"SELECT e.outcome, count(*) FROM enrollment e WHERE {_SCOPE} AND e.outcome IS NOT NULL "
        "GROUP BY 1"
    )
    completed = await rows(
        f"""SELECT ev.step_id, count(DISTINCT ev.enrollment_id) FROM enrollment_event ev
        JOIN enrollment e ON e.id = ev.enrollment_id
        WHERE {_SCOPE} AND ev.kind = 'step_completed' GROUP BY 1"""
    )
    waiting = await rows(
        f"""SELECT step, count(*) FROM enrollment e,
        unnest(string_to_array(e.current_step, ',')) AS step
        WHERE {_SCOPE} AND e.status <> 'completed' GROUP BY 1"""
    )
    sent = await rows(
        f"""SELECT split_part(m.effect_key, ':', 3), m.channel, count(*) FROM message m
        JOIN enrollment e ON e.id = m.enrollment_id WHERE {_SCOPE} GROUP BY 1, 2"""
    )
    results = await rows(
        f"""SELECT t.step_id, t.result, count(*) FROM task t
        JOIN enrollment e ON e.id = t.enrollment_id
        WHERE {_SCOPE} AND t.result IS NOT NULL GROUP BY 1, 2"""
    )

    steps: dict[str, dict[str, Any]] = {}

    def step(step_id: str) -> dict[str, Any]:
        return steps.setdefault(
            step_id, {"reached": 0, "completed": 0, "messages": {}, "task_results": {}}
        )

    for step_id, count in completed:
        step(step_id)["completed"] = count
        step(step_id)["reached"] += count
    for step_id, count in waiting:
        step(step_id)["reached"] += count
    for step_id, channel, count in sent:
        step(step_id)["messages"][channel] = count
    for step_id, result, count in results:
        step(step_id)["task_results"][result] = count

    by_status = {str(status): count for status, count in statuses}
    return {
        "enrolled": sum(by_status.values()),
        **{s: by_status.get(s, 0) for s in ("active", "stopped", "completed", "failed")},
        "outcomes": {o: dict(outcomes).get(o, 0) for o in ("positive", "negative", "neutral")},
        "steps": steps,
    }
