"""Timer lateness: enrollments whose timers all fire at the same instant, and how late each
enrollment moved on. The baseline is a textbook workflow sleeping until such an instant; the
floor sleeps the same and then does what the step after the timer must (bench.floor), since
with a thousand wakes on two cores each wake's work delays the wakes queued behind it."""

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bench.cpu import measured, per_step_ms
from bench.floor import create_tables, plain_url
from bench.harness import Services, process, wait_until, worker_env
from bench.sink import HOST as SINK_HOST
from bench.steps import contacts, count_enrollments, published
from bench.textbook import SleepThenTagWorkflow, SleepUntilWorkflow
from enrolling.starts import START_CONCURRENCY
from store.models import EnrollmentEvent, EnrollmentStatus


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return round(cuts[49], 3), round(cuts[98], 3)


async def baseline(
    services: Services, count: int, lead: float, workers: int, *, floor: bool = False
) -> tuple[list[float], dict[str, float]]:
    """How late each sleeper moved on, and the CPU time a wake took from the instant on. Both
    the plain sleepers and the floor run unsandboxed, as the project's workers do."""
    client = services.client
    queue = f"sleep-until-{uuid.uuid4()}"
    runner = ["--unsandboxed"]
    contact_ids: list[str] = []
    if floor:
        dsn = plain_url(services.settings.require_database_url())
        await create_tables(dsn)
        contact_ids = [str(uuid.uuid4()) for _ in range(count)]
        runner += ["--floor", dsn, SINK_HOST, str(services.sink.port)]
    due = datetime.now(UTC) + timedelta(seconds=lead)
    gate = asyncio.Semaphore(START_CONCURRENCY)

    run = SleepThenTagWorkflow.run if floor else SleepUntilWorkflow.run

    async def start(n: int) -> Any:
        args = [contact_ids[n], due] if floor else [due]
        async with gate:
            return await client.start_workflow(run, args=args, id=f"{queue}-{n}", task_queue=queue)

    address = client.service_client.config.target_host
    with process(["-m", "bench.textbook_worker", address, queue, *runner], copies=workers) as ours:
        handles = await asyncio.gather(*(start(n) for n in range(count)))
        await _sleep_until(due)
        with measured(services.cpu_parts(ours)) as used:
            late = list(await asyncio.gather(*(handle.result() for handle in handles)))
    return late, per_step_ms(used, count)


async def project(
    services: Services, count: int, lead: float, workers: int
) -> tuple[list[float], dict[str, float]]:
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
    with process(["worker.py"], worker_env(services), copies=workers) as ours:
        response = await services.api.post(
            f"/sequences/{sequence_id}/enrollments", json={"contact_ids": contact_ids}
        )
        response.raise_for_status()
        if datetime.now(UTC) > due:
            raise RuntimeError("enrolling took longer than the lead; give a longer --lead")
        await _sleep_until(due)
        with measured(services.cpu_parts(ours)) as used:
            await wait_until(
                lambda: count_enrollments(
                    services.sessionmaker, sequence_id, EnrollmentStatus.completed
                ),
                count,
                timeout=120 + count * 2.0,
            )
    async with services.sessionmaker() as session:
        ran = await session.scalars(
            select(col(EnrollmentEvent.occurred_at))
            .where(col(EnrollmentEvent.kind) == "step_completed")
            .where(col(EnrollmentEvent.step_id) == "at")
        )
        return [(at - due).total_seconds() for at in ran], per_step_ms(used, count)


async def _sleep_until(due: datetime) -> None:
    """Until just before `due`: what the CPU time counts from then on is the wakes' work."""
    await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds() - 1, 0))


async def timer_lateness(
    services: Services, count: int, lead: float, workers: int
) -> dict[str, Any]:
    """Both sides get the same number of worker processes."""
    began = time.monotonic()
    sleepers, sleepers_cpu = await baseline(services, count, lead, workers)
    floor, floor_cpu = await baseline(services, count, lead, workers, floor=True)
    ours, ours_cpu = await project(services, count, lead, workers)
    textbook, bottom, mine = percentiles(sleepers), percentiles(floor), percentiles(ours)
    return {
        "name": f"timer lateness, {count} timers due at one instant (p50, p99), "
        f"{workers} worker processes each, against plain sleepers unsandboxed",
        "unit": "s late",
        "baseline": {"p50": textbook[0], "p99": textbook[1]},
        "project": {"p50": mine[0], "p99": mine[1]},
        "ratio": _ratio(mine[1], textbook[1]),
        "target": "p99 ratio <= 1.2",
        "detail": {
            "floor (bench.floor) p50, p99": [bottom[0], bottom[1]],
            "project to floor, p99": _ratio(mine[1], bottom[1]),
            "floor to sleepers, p99": _ratio(bottom[1], textbook[1]),
            "cpu ms a wake": {"project": ours_cpu, "sleepers": sleepers_cpu, "floor": floor_cpu},
        },
        "seconds": round(time.monotonic() - began, 1),
    }


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline > 0 else None
