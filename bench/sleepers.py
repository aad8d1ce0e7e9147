"""Many sleeping enrollments: each put a to-do on the enroller's list and now waits on a 30-day
delay. Measured: the largest worker process's memory, the database's size, and how fast the
rep's to-do list and the sequence report answer while they wait (beside GET /health, the cheapest
route), the report with each enrollment's offer email and what the contact did with it, for
the whole sequence and for its version's enrollments of the last two days (both from tallies),
and the web app's pages (bench/pages.py)."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import col

from bench.engagement import OFFER_STEP, sent_offers
from bench.harness import Services, process, wait_until, worker_env
from bench.lateness import percentiles
from bench.pages import page_latencies
from bench.steps import contacts, published
from store.models import EnrollmentEvent

WAITING = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "call", "kind": "create_task", "title": "Call {{ contact.first_name }}"},
                {"id": "wait", "kind": "delay", "duration": "P30D"},
                {"id": OFFER_STEP, "kind": "email", "subject": "An offer", "body": "b"},
            ],
        }
    ]
}
BATCH = 10_000  # the API's most contacts per bulk request


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS for the worker")


async def latencies(services: Services, path: str, requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = await services.api.get(path)
        timings.append(time.perf_counter() - began)
        response.raise_for_status()
    return timings


async def asleep(services: Services) -> int:
    async with services.sessionmaker() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(EnrollmentEvent)
            .where(col(EnrollmentEvent.kind) == "step_completed")
            .where(col(EnrollmentEvent.step_id) == "call")
        )
    return int(found or 0)


async def sleeping_enrollments(
    services: Services, count: int, requests: int, workers: int
) -> dict[str, Any]:
    with process(["worker.py"], worker_env(services), copies=workers) as children:
        idle_rss = max(rss_mb(child.pid) for child in children)
        sequence_id = await published(services.api, WAITING)
        began = time.monotonic()
        for start in range(0, count, BATCH):
            ids = await contacts(services.sessionmaker, min(BATCH, count - start))
            enrolled = await services.api.post(
                f"/sequences/{sequence_id}/enrollments", json={"contact_ids": ids}
            )
            enrolled.raise_for_status()
        await wait_until(lambda: asleep(services), count, timeout=600 + count * 0.05, every=5)
        settled = time.monotonic() - began
        busy_rss = max(rss_mb(child.pid) for child in children)
        health = await latencies(services, "/health", requests)
        todo = await latencies(services, "/todo", requests)
        offers = await sent_offers(services.sessionmaker, sequence_id)
        report = await latencies(services, f"/sequences/{sequence_id}/report", requests)
        today = datetime.now(UTC).date()
        cohort = f"version=1&since={today - timedelta(days=1)}&until={today}"
        version = await latencies(services, f"/sequences/{sequence_id}/report?{cohort}", requests)
        pages = await page_latencies(services, sequence_id, requests)
        async with services.sessionmaker() as session:
            size = await session.scalar(text("select pg_database_size(current_database())"))
    timings = (health, todo, report, version)
    ms = [round(v * 1000, 1) for timing in timings for v in percentiles(timing)]
    return {
        "name": (
            f"{count} sleeping enrollments on {workers} workers: the largest worker's memory, "
            f"and GET /todo and report latency, with {offers} emails' engagement"
        ),
        "unit": "MB, ms",
        "baseline": {"worker_rss_mb_idle": round(idle_rss, 1), "health_ms_p50_p99": ms[0:2]},
        "project": {
            "worker_rss_mb": round(busy_rss, 1),
            "database_mb": round(int(size or 0) / 2**20, 1),
            "todo_ms_p50_p99": ms[2:4],
            "report_ms_p50_p99": ms[4:6],
            "version_report_ms_p50_p99": ms[6:8],
            "web_pages_ms_p50_p99": pages,
            "seconds_to_enroll_and_settle": round(settled, 1),
        },
        "ratio": round(ms[3] / ms[1], 3) if ms[1] else None,
        "target": "worker RSS <= 400 MB; API p99 <= 50 ms; web pages p99 <= 100 ms",
    }
