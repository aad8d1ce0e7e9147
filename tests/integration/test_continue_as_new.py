"""Long-lived enrollments continue as new and carry their whole state.

A second dev server suggests continue-as-new after a few dozen history events, so a test sees
several runs in seconds; a yearly timer runs on a shortened year to fire again and again.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from devstack.services import DEV_SERVER_TUNING, temporal_binary
from settings import Settings
from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import TEST_LINK_SECRET, make_user_key
from tests.integration.helpers import (
    declare_field,
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)
from worker import create_worker
from workflows import search_attributes
from workflows.client import DATA_CONVERTER
from workflows.enrollment import EnrollmentWorkflow

YEAR = timedelta(seconds=4)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def eager_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
        dev_server_extra_args=[
            *DEV_SERVER_TUNING,
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    eager_env: WorkflowEnvironment, database_url: str, sessionmaker: SessionMaker, task_queue: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    settings = Settings(
        database_url=database_url,
        temporal_address=eager_env.client.service_client.config.target_host,
        temporal_task_queue=task_queue,
        unsubscribe_secret=TEST_LINK_SECRET,
    )
    app = create_app(settings)
    key = await make_user_key(sessionmaker, Role.admin)
    async with (
        httpx.AsyncClient() as web,
        create_worker(eager_env.client, sessionmaker, task_queue, web, year=YEAR),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {key}"},
        ) as http,
    ):
        yield http, eager_env.client


async def _runs(client: Client, workflow_id: str) -> list[str]:
    return [w.run_id async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]


async def test_a_yearly_field_timer_fires_every_year_across_runs(
    stack: tuple[httpx.AsyncClient, Client],
) -> None:
    http, client = stack
    first = (datetime.now(UTC) + timedelta(seconds=2)).astimezone(ZoneInfo("Europe/Berlin"))
    definition: dict[str, Any] = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "birthday",
                        "kind": "field_timer",
                        "field": "birthday",
                        "at": first.time().replace(microsecond=0).isoformat(),
                        "yearly": True,
                    },
                    {
                        "id": "card",
                        "kind": "email",
                        "subject": "Happy birthday, {{ contact.first_name }}",
                        "body": "Many happy returns.",
                        "then": {"go_to": "birthday"},
                    },
                ],
            }
        ]
    }
    await declare_field(http, "birthday", "date")
    sequence_id = await published_sequence(http, definition)
    contact_id = await new_contact(
        http, timezone="Europe/Berlin", fields={"birthday": first.date().isoformat()}
    )
    enrollment = await enroll(http, sequence_id, contact_id)

    cards = await eventually(
        lambda: get_json(http, f"/contacts/{contact_id}/messages"),
        lambda found: len(found) >= 4,
        timeout=60,
    )
    runs = await eventually(lambda: _runs(client, enrollment["workflow_id"]), lambda r: len(r) >= 2)

    # Each year's card is its own message: the visit count survived continue-as-new.
    assert len({m["id"] for m in cards}) == len(cards)
    assert {m["subject"] for m in cards} == {"Happy birthday, Ada"}
    assert len(runs) >= 2
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, enrollment["workflow_id"])
    # A card is in the outbox a moment before its step completes and counts as a visit.
    await eventually(
        lambda: handle.query(EnrollmentWorkflow.state),
        lambda state: state.tracks["main"].visits.get("card", 0) >= 4,
    )
    current = await get_json(http, f"/enrollments/{enrollment['id']}")
    assert current["status"] == "active"


async def test_a_sleeping_track_keeps_its_wake_up_time_across_runs(
    stack: tuple[httpx.AsyncClient, Client],
) -> None:
    http, client = stack
    definition = {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "ping", "kind": "apply_tag", "tag": "pinged"},
                    {"id": "pause", "kind": "delay", "duration": "PT1S", "then": {"go_to": "ping"}},
                ],
            },
            {"id": "later", "steps": [{"id": "wait", "kind": "delay", "duration": "PT1H"}]},
        ]
    }
    sequence_id = await published_sequence(http, definition)
    contact_id = await new_contact(http)
    enrollment = await enroll(http, sequence_id, contact_id)
    handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, enrollment["workflow_id"])

    await eventually(
        lambda: _runs(client, enrollment["workflow_id"]), lambda r: len(r) >= 2, timeout=60
    )
    before = await handle.query(EnrollmentWorkflow.state)
    assert before.tracks["later"].wake_at is not None
    assert (await http.post(f"/enrollments/{enrollment['id']}/stop")).status_code == 202
    await enrollment_status(http, enrollment["id"], "stopped")

    after = await handle.query(EnrollmentWorkflow.state)
    assert after.status == "stopped"
    # The hour-long timer of the other track kept its original wake-up time across runs.
    assert after.tracks["later"].wake_at == before.tracks["later"].wake_at
    assert (await http.post(f"/enrollments/{enrollment['id']}/reactivate")).status_code == 202
    await enrollment_status(http, enrollment["id"], "active")


async def test_an_open_task_survives_continue_as_new(
    stack: tuple[httpx.AsyncClient, Client],
) -> None:
    http, client = stack
    definition = {
        "tracks": [
            {
                "id": "busy",
                "steps": [
                    {"id": "ping", "kind": "apply_tag", "tag": "pinged"},
                    {"id": "pause", "kind": "delay", "duration": "PT1S", "then": {"go_to": "ping"}},
                ],
            },
            {
                "id": "rep",
                "steps": [
                    {
                        "id": "call",
                        "kind": "call",
                        "title": "Call",
                        "outcomes": {"interested": {"end": "positive"}},
                    }
                ],
            },
        ]
    }
    sequence_id = await published_sequence(http, definition)
    contact_id = await new_contact(http)
    enrollment = await enroll(http, sequence_id, contact_id)
    [task] = await eventually(
        lambda: get_json(http, f"/contacts/{contact_id}/tasks"), lambda t: len(t) == 1
    )
    await eventually(
        lambda: _runs(client, enrollment["workflow_id"]), lambda r: len(r) >= 2, timeout=60
    )

    state = await client.get_workflow_handle_for(
        EnrollmentWorkflow.run, enrollment["workflow_id"]
    ).query(EnrollmentWorkflow.state)
    assert state.tracks["rep"].task_id == task["id"], "the new run still waits on the same task"
    assert (
        await http.post(f"/tasks/{task['id']}/outcome", json={"result": "interested"})
    ).status_code == 200
    done = await enrollment_status(http, enrollment["id"], "completed")
    assert done["outcome"] == "positive"
    assert len(await get_json(http, f"/contacts/{contact_id}/tasks")) == 1, (
        "no second task was created"
    )
