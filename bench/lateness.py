"""Timer lateness: enrollments whose timers all fire at the same instant, and how late each
enrollment moved on. The baseline is a textbook workflow sleeping until such an instant."""

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client

from bench.harness import Services, process, wait_until, worker_env
from bench.steps import contacts, count_enrollments, published
from bench.textbook import SleepUntilWorkflow
from enrolling.starts import START_CONCURRENCY
from store.models import EnrollmentEvent, EnrollmentStatus


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return round(cuts[49], 3), round(cuts[98], 3)


async def baseline(client: Client, count: int, lead: float, workers: int) -> list[float]:
    queue = f"sleep-until-{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=lead)
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(n: int) -> Any:
        async with gate:
            return await client.start_workflow(
                SleepUntilWorkflow.run, due, id=f"{queue}-{n}", task_queue=queue
            )

    address = client.service_client.config.target_host
    with process(["-m", "bench.textbook_worker", address, queue], copies=workers):
        handles = await asyncio.gather(*(start(n) for n in range(count)))
        return list(await asyncio.gather(*(handle.result() for handle in handles)))


async def project(services: Services, count: int, lead: float, workers: int) -> list[float]:
    due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "at",
                        "kind": "date_timer",
                        "on": due.date().isoformat(),
                        "at": due.time().isoformat(),
                    },
                    {"id": "tag", "kind": "apply_tag", "tag": "on-time"},
                ],
            }
        ]
    }
    sequence_id = await published(services.api, definition)
    contact_ids = await contacts(services.sessionmaker, count)
    with process(["worker.py"], worker_env(services), copies=workers):
        response = await services.api.post(
            f"/sequences/{sequence_id}/enrollments", json={"contact_ids": contact_ids}
        )
        response.raise_for_status()
        if datetime.now(UTC) > due:
            raise RuntimeError("enrolling took longer than the lead; give a longer --lead")
        await wait_until(
            lambda: count_enrollments(
                services.sessionmaker, sequence_id, EnrollmentStatus.completed
            ),
            count,
            timeout=lead + 120 + count * 2.0,
        )
    async with services.sessionmaker() as session:
        ran = await session.scalars(
            select(col(EnrollmentEvent.occurred_at))
            .where(col(EnrollmentEvent.kind) == "step_completed")
            .where(col(EnrollmentEvent.step_id) == "at")
        )
        return [(at - due).total_seconds() for at in ran]


async def timer_lateness(
    services: Services, count: int, lead: float, workers: int
) -> dict[str, Any]:
    """Both sides get the same number of worker processes."""
    began = time.monotonic()
    textbook = percentiles(await baseline(services.client, count, lead, workers))
    ours = percentiles(await project(services, count, lead, workers))
    return {
        "name": f"timer lateness, {count} timers due at one instant (p50, p99), "
        f"{workers} worker processes each",
        "unit": "s late",
        "baseline": {"p50": textbook[0], "p99": textbook[1]},
        "project": {"p50": ours[0], "p99": ours[1]},
        "ratio": round(ours[1] / textbook[1], 3) if textbook[1] > 0 else None,
        "target": "p99 ratio <= 1.2",
        "seconds": round(time.monotonic() - began, 1),
    }
