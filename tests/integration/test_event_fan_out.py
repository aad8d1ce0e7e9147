"""An event's record and its effects agree: enrollments and goals hear of an event only once the
transaction that recorded it has committed, over a real uvicorn with concurrent clients."""

import asyncio
import functools
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.contracts import FanOutResult
from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import make_user_key
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    trigger_at_commit,
)

CONTACTS = 20
REFUSED = "/refused"


@pytest_asyncio.fixture(loop_scope="session")
async def refused_at_commit(engine: AsyncEngine) -> AsyncIterator[None]:
    """A deferred constraint that fails the commit of any event named /refused, after every
    statement of the route, the workflow start included, has succeeded."""
    body = (
        f"if new.name = '{REFUSED}' then raise exception 'refused' "
        "using errcode = 'check_violation'; end if;"
    )
    async with trigger_at_commit(engine, "test_refuse_event", body, ["contact_event"]):
        yield


async def _fan_outs(client: Client, contact_id: str) -> list[FanOutResult]:
    """The finished fan-outs of the contact's events, as the worker ran them."""
    query = f"WorkflowType = 'EventFanOutWorkflow' AND ContactId = '{contact_id}'"
    results = []
    async for execution in client.list_workflows(query):
        if execution.status == WorkflowExecutionStatus.COMPLETED:
            handle = client.get_workflow_handle(execution.id, result_type=FanOutResult)
            results.append(await handle.result())
    return results


async def test_an_event_whose_commit_fails_reaches_no_enrollment(
    served_api: str,
    worker: Worker,
    client: Client,
    sessionmaker: SessionMaker,
    refused_at_commit: None,
) -> None:
    key = await make_user_key(sessionmaker, Role.admin)
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "visit",
                        "kind": "wait_for_event",
                        "match": {"event": "page_visited"},
                        "within": "PT1H",
                    },
                    {"id": "tag", "kind": "apply_tag", "tag": "visited"},
                ],
            }
        ]
    }
    async with httpx.AsyncClient(
        base_url=served_api,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as http:
        sequence_id = await published_sequence(http, definition)
        contacts = [await new_contact(http) for _ in range(CONTACTS)]
        waiting = [await enroll(http, sequence_id, contact_id) for contact_id in contacts]
        for enrollment in waiting:
            path = f"/enrollments/{enrollment['id']}"
            await eventually(
                functools.partial(get_json, http, path),
                lambda body: body["current_step"] == "visit",
            )

        def page(n: int) -> str:
            return REFUSED if n % 2 else "/pricing"

        answers = await asyncio.gather(
            *(
                http.post(
                    "/events",
                    json={"contact_id": contact_id, "event": "page_visited", "name": page(n)},
                )
                for n, contact_id in enumerate(contacts)
            )
        )
        for n, answer in enumerate(answers):
            if page(n) == REFUSED:
                assert answer.status_code == 409, answer.text
                assert answer.json()["status"] == 409
            else:
                assert answer.status_code == 202, answer.text
                assert answer.json()["enrollments_told"] == 1

        for n, (contact_id, enrollment) in enumerate(zip(contacts, waiting, strict=True)):
            [fan_out] = await eventually(functools.partial(_fan_outs, client, contact_id), bool)
            if page(n) == REFUSED:
                assert fan_out == FanOutResult(committed=False)
                body = await get_json(http, f"/enrollments/{enrollment['id']}")
                assert (body["status"], body["current_step"]) == ("active", "visit")
                async with sessionmaker() as session:
                    kept = await session.scalar(
                        text("select count(*) from contact_event where contact_id = :c"),
                        {"c": contact_id},
                    )
                assert kept == 0
            else:
                assert (fan_out.committed, fan_out.told) == (True, 1)
                await enrollment_status(http, enrollment["id"], "completed")
