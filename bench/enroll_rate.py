"""Enrollment rate: bulk enrollment through the API against bare `start_workflow` calls at the
same concurrency, each the request the API makes: the same workflow, input, search attributes,
memo and summary. The ratio is what the API adds to starting the workflows. No worker runs:
only starting counts.

A reference run of bare starts without the metadata shows what Temporal's indexing of it costs
(the operators' search attributes and memo, which every enrollment carries).

Every start leaves a workflow on the server, and the server slows as they pile up, so whichever
side ran second would pay for the first. The sides run in halves, in mirrored order (A B C C B A),
so that drift falls on each alike.
"""

import asyncio
import time
import uuid
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.harness import Services
from bench.steps import contacts, published
from enrolling.starts import START_CONCURRENCY
from sequences import parse_definition
from workflows import search_attributes as sa
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


async def bare_starts(services: Services, count: int, *, with_metadata: bool) -> float:
    """Seconds to start `count` workflows directly; with the API's metadata if asked."""
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
        metadata: dict[str, Any] = {}
        if with_metadata:
            metadata = {
                "search_attributes": TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.CONTACT_ID, workflow_input.contact_id),
                        SearchAttributePair(sa.SEQUENCE_ID, queue),
                        SearchAttributePair(sa.SEQUENCE_VERSION, 1),
                        SearchAttributePair(sa.ENROLLMENT_STATUS, "active"),
                        SearchAttributePair(sa.ENROLLMENT_ID, workflow_input.enrollment_id),
                    ]
                ),
                "memo": {"contact": f"Contact {n}", "sequence": "Bench"},
                "static_summary": f"Contact {n} in Bench v1",
            }
        async with gate:
            await services.client.start_workflow(
                EnrollmentWorkflow.run,
                workflow_input,
                id=f"{queue}-{n}",
                task_queue=queue,
                **metadata,
            )

    began = time.monotonic()
    await asyncio.gather(*(start(n) for n in range(count)))
    return time.monotonic() - began


async def through_the_api(services: Services, count: int) -> float:
    """Seconds for one bulk request to enroll `count` new contacts."""
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
    return elapsed


async def enrollment_rate(services: Services, count: int) -> dict[str, Any]:
    half = count // 2
    seconds = {"bare": 0.0, "api": 0.0, "metadata": 0.0}
    for side in ("metadata", "api", "bare", "bare", "api", "metadata"):
        if side == "api":
            seconds[side] += await through_the_api(services, half)
        else:
            seconds[side] += await bare_starts(services, half, with_metadata=side == "metadata")
    bare, api, metadata = (2 * half / seconds[side] for side in ("bare", "api", "metadata"))
    return {
        "name": f"enrollment rate, {2 * half} contacts in two bulk requests",
        "unit": "enrollments/s",
        "baseline": round(metadata, 1),
        "project": round(api, 1),
        "ratio": round(api / metadata, 3),
        "target": 0.9,
        "detail": {
            "bare starts without search attributes, memo and summary": round(bare, 1),
            "ratio to those": round(api / bare, 3),
        },
    }
