"""A sequence's report, from the tallies the database keeps."""

import uuid
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def sequence_report(
    session: AsyncSession,
    sequence_id: uuid.UUID,
    *,
    version: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """The enrollments enrolled on `version`, from the UTC day `since` through `until` (each
    optional), from report_position and report_step (kept by triggers, see the report_tallies
    migrations): a few rows per cohort however many enrollments there are."""
    params = {
        "sequence_id": sequence_id,
        "version": version,
        "since": since or date.min,
        "until": until or date.max,
    }
    # Each written so the primary key finds its rows: a whole sequence's lie together under
    # the day -infinity, a range's days next to each other.
    cohorts = ["sequence_id = :sequence_id"]
    if since is None and until is None:
        cohorts.append("enrolled_on = '-infinity'")
    else:
        cohorts.append("enrolled_on BETWEEN :since AND :until")
    if version is not None:
        cohorts.append("version = :version")
    where = " AND ".join(cohorts)
    positions = await session.execute(
        text(
            "SELECT status, nullif(outcome, ''), nullif(current_step, ''), sum(enrollments) "
            f"FROM report_position WHERE {where} "
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
            f"WHERE {where} GROUP BY 1, 2, 3 HAVING sum(count) <> 0"
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
            {
                "reached": 0,
                "waiting": 0,
                "completed": 0,
                "messages": {},
                "queued": {},
                "task_results": {},
            },
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
                if status == "active":
                    step(step_id)["waiting"] += count
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
