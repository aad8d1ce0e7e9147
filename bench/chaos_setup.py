"""What a chaos run sets up through the API, as a customer would: the three-email sequence, its
contacts and their enrollments."""

import asyncio
from typing import Any

import httpx

from bench.chaos_checks import SUBJECT

STEPS = 3


class ScenarioError(RuntimeError):
    """The run could not be set up through the API; nothing was judged."""


def definition(delay_s: int) -> dict[str, Any]:
    """email, delay, email, delay, email."""
    steps: list[dict[str, Any]] = []
    for step in range(1, STEPS + 1):
        if step > 1:
            steps.append({"id": f"wait{step - 1}", "kind": "delay", "duration": f"PT{delay_s}S"})
        steps.append(
            {
                "id": f"email{step}",
                "kind": "email",
                "subject": SUBJECT.format(step=step),
                "body": f"Step {step} of {STEPS}.",
            }
        )
    return {"tracks": [{"id": "main", "steps": steps}]}


async def published_sequence(api: httpx.AsyncClient, delay_s: int) -> str:
    created = await api.post(
        "/sequences", json={"name": "Chaos", "definition": definition(delay_s)}
    )
    created.raise_for_status()
    sequence_id: str = created.json()["id"]
    (await api.post(f"/sequences/{sequence_id}/publish")).raise_for_status()
    return sequence_id


async def create_contacts(
    api: httpx.AsyncClient, addresses: list[str], concurrency: int
) -> dict[str, str]:
    """Address -> contact id, created through POST /contacts a few at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def create(number: int, address: str) -> tuple[str, str]:
        async with gate:
            answer = await api.post(
                "/contacts", json={"email": address, "first_name": f"Contact{number}"}
            )
        answer.raise_for_status()
        return address, str(answer.json()["id"])

    return dict(await asyncio.gather(*(create(n, a) for n, a in enumerate(addresses))))


async def enroll(
    api: httpx.AsyncClient, sequence_id: str, contact_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Contact id -> its enrollment, from one bulk request; every contact must be enrolled."""
    answer = await api.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_ids": contact_ids}
    )
    answer.raise_for_status()
    results = answer.json()["results"]
    refused = [r for r in results if r["outcome"] != "enrolled"]
    if refused:
        raise ScenarioError(f"{len(refused)} contacts were not enrolled, e.g. {refused[:3]}")
    rows = {row["id"]: row for row in await all_enrollments(api, sequence_id)}
    return {r["contact_id"]: rows[r["enrollment_id"]] for r in results}


async def all_enrollments(api: httpx.AsyncClient, sequence_id: str) -> list[dict[str, Any]]:
    """Every enrollment of the sequence, 500 a page (the API's largest)."""
    rows: list[dict[str, Any]] = []
    while True:
        page = await api.get(
            f"/sequences/{sequence_id}/enrollments", params={"limit": 500, "offset": len(rows)}
        )
        page.raise_for_status()
        rows.extend(page.json())
        if len(page.json()) < 500:
            return rows
