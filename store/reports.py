"""A sequence's report: from tallies the database keeps, or by counting for a version or dates."""

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# A URL longer than this is counted under its first characters, as the tallies do.
LINK_LABEL = 500

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
    """The whole sequence from the tallies the database keeps; a version or a date range by
    counting the enrollments in it."""
    if version is None and since is None and until is None:
        return await tallied_report(session, sequence_id)
    return await counted_report(session, sequence_id, version=version, since=since, until=until)


async def tallied_report(session: AsyncSession, sequence_id: uuid.UUID) -> dict[str, Any]:
    """From report_position and report_step (kept by triggers, see the report_tallies
    migration): a few rows however many enrollments there are."""
    params = {"sequence_id": sequence_id}
    positions = await session.execute(
        text(
            "SELECT status, nullif(outcome, ''), nullif(current_step, ''), sum(enrollments) "
            "FROM report_position WHERE sequence_id = :sequence_id "
            "GROUP BY 1, 2, 3 HAVING sum(enrollments) <> 0"
        ),
        params,
    )
    measures: dict[str, list[Any]] = {
        "completed": [],
        "messages": [],
        "result": [],
        "engagement": [],
    }
    rows = await session.execute(
        text(
            "SELECT measure, step_id, label, sum(count) FROM report_step "
            "WHERE sequence_id = :sequence_id GROUP BY 1, 2, 3 HAVING sum(count) <> 0"
        ),
        params,
    )
    for measure, step_id, label, count in rows:
        if measure == "completed":
            measures["completed"].append((step_id, count))
        elif measure in ("message", "queued"):
            measures["messages"].append((step_id, measure, label, count))
        elif measure == "result":
            measures["result"].append((step_id, label, count))
        else:
            measures["engagement"].append((step_id, measure, label, count))
    return _report(
        list(positions),
        measures["completed"],
        measures["messages"],
        measures["result"],
        measures["engagement"],
    )


async def counted_report(
    session: AsyncSession,
    sequence_id: uuid.UUID,
    *,
    version: int | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """Counting the enrollments in scope, and joining their events, messages and to-dos."""
    params = {"sequence_id": sequence_id, "version": version, "since": since, "until": until}

    async def rows(sql: str) -> list[Any]:
        return list(await session.execute(text(sql), params))

    # One pass over the covering index gives statuses, outcomes and where enrollments wait.
    positions = await rows(
        f"SELECT e.status, e.outcome, e.current_step, count(*) FROM enrollment e "
        f"WHERE {_SCOPE} GROUP BY 1, 2, 3"
    )
    completed = await rows(
        f"""SELECT ev.step_id, count(DISTINCT ev.enrollment_id) FROM enrollment_event ev
        JOIN enrollment e ON e.id = ev.enrollment_id
        WHERE {_SCOPE} AND ev.kind = 'step_completed' GROUP BY 1"""
    )
    # The same tallies the triggers keep, counted over the messages in scope.
    tallies = await rows(
        f"""SELECT split_part(m.effect_key, ':', 3), f.measure, f.label, count(*)
        FROM message m JOIN enrollment e ON e.id = m.enrollment_id
        CROSS JOIN LATERAL report_message_tallies(
            m.channel, m.status::text, m.opened_at, m.machine_opened_at, m.clicked_at,
            m.replied_at, m.unsubscribed_at) f
        WHERE {_SCOPE} GROUP BY 1, 2, 3
        UNION ALL
        SELECT split_part(m.effect_key, ':', 3), 'link', left(c.url, {LINK_LABEL}), count(*)
        FROM message_click c JOIN message m ON m.id = c.message_id
        JOIN enrollment e ON e.id = m.enrollment_id
        WHERE {_SCOPE} GROUP BY 1, 3"""
    )
    messages = [row for row in tallies if row[1] in ("message", "queued")]
    engagement = [row for row in tallies if row[1] not in ("message", "queued")]
    results = await rows(
        f"""SELECT t.step_id, t.result, count(*) FROM task t
        JOIN enrollment e ON e.id = t.enrollment_id
        WHERE {_SCOPE} AND t.result IS NOT NULL GROUP BY 1, 2"""
    )
    return _report(positions, completed, messages, results, engagement)


def _report(
    positions: list[Any],
    completed: list[Any],
    messages: list[Any],
    results: list[Any],
    engagement: list[Any],
) -> dict[str, Any]:
    """`messages` rows are (step, measure, channel, count): measure `message` for those handed
    to their channel, `queued` for those waiting to be; `engagement` rows (step, fact, label,
    count) say what their recipients did, a `link` fact's label naming the URL."""
    steps: dict[str, dict[str, Any]] = {}

    def step(step_id: str) -> dict[str, Any]:
        return steps.setdefault(
            step_id,
            {"reached": 0, "completed": 0, "messages": {}, "queued": {}, "task_results": {}},
        )

    for step_id, count in completed:
        step(step_id)["completed"] = count
        step(step_id)["reached"] += count
    by_status: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    for status, outcome, current_step, count in positions:
        by_status[status] += count
        by_outcome[outcome] += count
        if status != "completed" and current_step:
            # Each track of an enrollment waits at its own step.
            for step_id in current_step.split(","):
                step(step_id)["reached"] += count
    for step_id, measure, channel, count in messages:
        step(step_id)["messages" if measure == "message" else "queued"][channel] = count
    for step_id, result, count in results:
        step(step_id)["task_results"][result] = count
    did: dict[str, dict[str, Any]] = {}
    for step_id, fact, label, count in engagement:
        facts = did.setdefault(step_id, {"links": {}})
        if fact == "link":
            facts["links"][label] = count
        else:
            facts[fact] = count
    for step_id, report in steps.items():
        if report["messages"] or step_id in did:
            report["engagement"] = _engagement(sum(report["messages"].values()), did.get(step_id))

    return {
        "enrolled": sum(by_status.values()),
        **{s: by_status[s] for s in ("active", "stopped", "completed", "failed")},
        "outcomes": {o: by_outcome[o] for o in ("positive", "negative", "neutral")},
        "steps": steps,
    }


FACTS = ("bounced", "opened", "machine_opened", "clicked", "replied", "unsubscribed")


def _engagement(sent: int, facts: dict[str, Any] | None) -> dict[str, Any]:
    """What a step's messages achieved, and the rates of each over those sent (clicks to opens
    over people's opens): a rate is None where there is nothing to divide by."""
    facts = facts or {"links": {}}
    counts = {fact: facts.get(fact, 0) for fact in FACTS}

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    delivered = max(sent - counts["bounced"], 0)
    return {
        "sent": sent,
        "delivered": delivered,
        **counts,
        "links": dict(sorted(facts["links"].items(), key=lambda link: (-link[1], link[0]))),
        "rates": {
            "delivered": rate(delivered, sent),
            **{fact: rate(counts[fact], sent) for fact in FACTS},
            "click_to_open": rate(counts["clicked"], counts["opened"]),
        },
    }
