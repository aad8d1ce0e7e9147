"""Enrollment rate: bulk enrollment through the API against bare `start_workflow` calls of the
same workflow with the same input, at the same concurrency. No worker runs: only starting counts."""

import asyncio
import time
import uuid
from typing import Any

from api.services.enrollments import START_CONCURRENCY
from bench.harness import Services
from bench.steps import contacts, published
from sequences import parse_definition
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import EnrollmentInput

LONG_WAIT = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "wait", "kind": "delay", "duration": "P30D"},
                {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
            ],
        }
    ]
}


async def bare_starts(services: Services, count: int) -> float:
    definition = parse_definition(LONG_WAIT)
    queue = f"bare-{uuid.uuid4()}"
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(n: int) -> None:
        workflow_input = EnrollmentInput(
            enrollment_id=str(uuid.uuid4()),
            contact_id=str(uuid.uuid4()),
            sequence_id=queue,
            version=1,
            definition=definition,
        )
        async with gate:
            await services.client.start_workflow(
                EnrollmentWorkflow.run, workflow_input, id=f"{queue}-{n}", task_queue=queue
            )

    began = time.monotonic()
    await asyncio.gather(*(start(n) for n in range(count)))
    return count / (time.monotonic() - began)


async def through_the_api(services: Services, count: int) -> float:
    sequence_id = await published(services.api, LONG_WAIT)
    contact_ids = await contacts(services.sessionmaker, count)
    began = time.monotonic()
    response = await services.api.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_ids": contact_ids}
    )
    elapsed = time.monotonic() - began
    response.raise_for_status()
    enrolled = [r for r in response.json()["results"] if r["outcome"] == "enrolled"]
    if len(enrolled) != count:
        raise AssertionError(f"{len(enrolled)} of {count} enrolled")
    return count / elapsed


async def enrollment_rate(services: Services, count: int) -> dict[str, Any]:
    bare = await bare_starts(services, count)
    api = await through_the_api(services, count)
    return {
        "name": f"enrollment rate, {count} contacts in one bulk request",
        "unit": "enrollments/s",
        "baseline": round(bare, 1),
        "project": round(api, 1),
        "ratio": round(api / bare, 3),
        "target": 0.9,
    }
