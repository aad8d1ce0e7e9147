"""Steps per second: contacts enrolled through the API into K steps of email + tag + 1 s delay,
against N textbook workflows of K steps (an activity that does nothing and a 1 s sleep each),
timed until all end. The baseline is the textbook with local activities run unsandboxed, as the
project's workers run: what the shape reaches on this machine with nothing but Temporal in it.
For reference, the same sandboxed, and with regular activities.

Each side's CPU time per step, by part of the stack (bench.cpu), says where the time goes.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlmodel import col

from bench.cpu import measured, per_step_ms
from bench.floor import create_tables, plain_url
from bench.harness import Services, process, wait_until, worker_env
from bench.sink import HOST as SINK_HOST
from bench.textbook import TextbookEffectsWorkflow, TextbookLocalWorkflow, TextbookWorkflow
from enrolling.starts import START_CONCURRENCY
from store.db import SessionMaker, transaction
from store.models import Contact, Enrollment, EnrollmentStatus


async def baseline(
    services: Services,
    workflows: int,
    steps: int,
    timeout: float,
    workers: int,
    workflow_run: Callable[..., Awaitable[int]] = TextbookWorkflow.run,
    *,
    sandboxed: bool = True,
) -> tuple[float, dict[str, float]]:
    """Textbook steps/s at the same start concurrency as the API's bulk enrollment, and its
    CPU time per step. The floor's workflow (bench.floor) gets a contact each, as enrollments do."""
    client = services.client
    queue = f"textbook-{uuid.uuid4()}"
    gate = asyncio.Semaphore(START_CONCURRENCY)
    runner = [] if sandboxed else ["--unsandboxed"]
    contact_ids: list[str] = []
    if workflow_run is TextbookEffectsWorkflow.run:
        dsn = plain_url(services.settings.require_database_url())
        await create_tables(dsn)
        contact_ids = await contacts(services.sessionmaker, workflows, domain="floor.example.com")
        runner += ["--floor", dsn, SINK_HOST, str(services.sink.port)]

    async def start(n: int) -> None:
        args = [contact_ids[n], steps] if contact_ids else [steps]
        async with gate:
            await client.start_workflow(
                workflow_run, args=args, id=f"{queue}-{n}", task_queue=queue
            )

    async def completed() -> int:
        query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Completed'"
        return (await client.count_workflows(query)).count

    address = client.service_client.config.target_host
    with (
        process(["-m", "bench.textbook_worker", address, queue, *runner], copies=workers) as ours,
        measured(services.cpu_parts(ours)) as used,
    ):
        began = time.monotonic()
        await asyncio.gather(*(start(n) for n in range(workflows)))
        ended = await wait_until(completed, workflows, timeout)
    if contact_ids:
        sent = sum(
            1 for r in services.sink.received() if r.recipient.endswith("@floor.example.com")
        )
        if sent != workflows * steps:
            raise AssertionError(f"the floor sent {sent} emails, not {workflows * steps}")
    return workflows * steps / (ended - began), per_step_ms(used, workflows * steps)


def sequence_of(steps: int) -> dict[str, Any]:
    step_list: list[dict[str, Any]] = []
    for n in range(steps):
        step_list += [
            {
                "id": f"email{n}",
                "kind": "email",
                "subject": "Hi {{ contact.first_name }}",
                "body": "b",
            },
            {"id": f"tag{n}", "kind": "apply_tag", "tag": f"step-{n}"},
            {"id": f"wait{n}", "kind": "delay", "duration": "PT1S"},
        ]
    return {"tracks": [{"id": "main", "steps": step_list}]}


async def published(api: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    created = await api.post("/sequences", json={"name": "Bench", "definition": definition})
    created.raise_for_status()
    sequence_id: str = created.json()["id"]
    (await api.post(f"/sequences/{sequence_id}/publish")).raise_for_status()
    return sequence_id


async def contacts(
    sessionmaker: SessionMaker, count: int, domain: str = "example.com"
) -> list[str]:
    """Contacts written straight to the database: setting up is not what is measured."""
    rows = [
        {"id": uuid.uuid4(), "email": f"c{n}@{domain}", "first_name": f"C{n}"} for n in range(count)
    ]
    async with transaction(sessionmaker) as session:
        for start in range(0, count, 1000):
            await session.execute(insert(Contact), rows[start : start + 1000])
    return [str(row["id"]) for row in rows]


async def count_enrollments(sessionmaker: SessionMaker, sequence_id: str, status: str) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(col(Enrollment.sequence_id) == uuid.UUID(sequence_id))
            .where(col(Enrollment.status) == status)
        )
    return int(found or 0)


async def project(
    services: Services, contacts_count: int, steps: int, timeout: float, workers: int
) -> tuple[float, dict[str, float]]:
    sequence_id = await published(services.api, sequence_of(steps))
    contact_ids = await contacts(services.sessionmaker, contacts_count)
    with (
        process(["worker.py"], worker_env(services), copies=workers) as children,
        measured(services.cpu_parts(children)) as used,
    ):
        began = time.monotonic()
        enrolled = await services.api.post(
            f"/sequences/{sequence_id}/enrollments", json={"contact_ids": contact_ids}
        )
        enrolled.raise_for_status()
        ended = await wait_until(
            lambda: count_enrollments(
                services.sessionmaker, sequence_id, EnrollmentStatus.completed
            ),
            contacts_count,
            timeout,
        )
    ours = {f"c{n}@example.com" for n in range(contacts_count)}
    sent = sum(1 for received in services.sink.received() if received.recipient in ours)
    if sent != contacts_count * steps:
        raise AssertionError(f"expected {contacts_count * steps} emails at the sink, got {sent}")
    done = contacts_count * steps
    return done / (ended - began), per_step_ms(used, done)


async def steps_per_second(
    services: Services, contacts_count: int, steps: int, workers: int
) -> dict[str, Any]:
    """Every side gets the same number of worker processes."""
    timeout = 120 + contacts_count * steps * 1.0
    n = contacts_count

    async def textbook(run: Callable[..., Awaitable[int]], sandboxed: bool) -> Any:
        return await baseline(services, n, steps, timeout, workers, run, sandboxed=sandboxed)

    regular, regular_cpu = await textbook(TextbookWorkflow.run, True)
    ours, ours_cpu = await project(services, n, steps, timeout, workers)
    local, local_cpu = await textbook(TextbookLocalWorkflow.run, True)
    bare, bare_cpu = await textbook(TextbookLocalWorkflow.run, False)
    floor, floor_cpu = await textbook(TextbookEffectsWorkflow.run, False)
    return {
        "name": f"steps per second, {n} enrollments x {steps} steps, "
        f"{workers} worker processes each, against the local-activity textbook unsandboxed",
        "unit": "steps/s",
        "baseline": round(bare, 1),
        "project": round(ours, 1),
        "ratio": round(ours / bare, 3),
        "target": 0.85,
        "detail": {
            "textbook with local activities, sandboxed": round(local, 1),
            "textbook with regular activities, sandboxed": round(regular, 1),
            "floor (bench.floor) unsandboxed": round(floor, 1),
            "project to floor": round(ours / floor, 3),
            "floor to local textbook": round(floor / bare, 3),
            "cpu ms a step: project": ours_cpu,
            "local textbook unsandboxed": bare_cpu,
            "local textbook sandboxed": local_cpu,
            "floor": floor_cpu,
            "regular textbook": regular_cpu,
        },
    }
