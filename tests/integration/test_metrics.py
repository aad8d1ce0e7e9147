"""Prometheus metrics: the worker's (SDK runtime plus steps, messages, outcomes) and the API's."""

import re
import socket

import httpx
from temporalio.client import Client

from store.db import SessionMaker
from tests.integration.conftest import TEST_OUTBOUND, SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    new_contact,
    published_sequence,
)
from worker import create_worker
from workflows.client import DATA_CONVERTER, prometheus_runtime

SEQUENCE = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"},
                {"id": "tag", "kind": "apply_tag", "tag": "greeted"},
            ],
        }
    ]
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _value(metrics: str, name: str, **labels: str) -> float:
    """The sample of `name` whose labels include all of `labels` (0 if there is none)."""
    for line in metrics.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


async def test_the_worker_serves_sdk_and_enrollment_metrics(
    admin: httpx.AsyncClient,
    client: Client,
    sessionmaker: SessionMaker,
    task_queue: str,
    smtp_sink: SmtpSink,
) -> None:
    address = f"127.0.0.1:{_free_port()}"
    measured = await Client.connect(
        client.service_client.config.target_host,
        data_converter=DATA_CONVERTER,
        runtime=prometheus_runtime(address),
    )
    sequence_id = await published_sequence(admin, SEQUENCE)
    async with (
        httpx.AsyncClient() as http,
        create_worker(
            measured,
            sessionmaker,
            task_queue,
            http,
            outbound=TEST_OUTBOUND,
            email=smtp_sink.sender,
        ),
    ):
        for email in ("a@example.com", "b@example.com"):
            enrollment = await enroll(admin, sequence_id, await new_contact(admin, email=email))
            await enrollment_status(admin, enrollment["id"], "completed")
        queue = {"task_queue": task_queue}

        async def scrape() -> str:
            return (await http.get(f"http://{address}/metrics")).text

        # The projection says "completed" a moment before the workflow itself completes.
        metrics = await eventually(
            scrape, lambda text: _value(text, "temporal_workflow_completed", **queue) >= 2
        )

    assert _value(metrics, "enrollment_steps", kind="email", **queue) == 2
    assert _value(metrics, "enrollment_steps", kind="apply_tag", **queue) == 2
    assert _value(metrics, "messages_sent", channel="email", **queue) == 2
    assert _value(metrics, "enrollments_ended", outcome="neutral", **queue) == 2
    # The SDK's own runtime metrics come from the same endpoint.
    assert _value(metrics, "temporal_workflow_task_execution_latency_count", **queue) > 0


async def test_the_api_measures_latency_by_route_template(admin: httpx.AsyncClient) -> None:
    contact_id = await new_contact(admin)
    for _ in range(3):
        assert (await admin.get(f"/contacts/{contact_id}")).status_code == 200
    assert (await admin.get("/contacts/not-an-id")).status_code == 422

    response = await admin.get("/metrics")

    assert response.status_code == 200
    count = "api_request_duration_seconds_count"
    route = {"method": "GET", "route": "/contacts/{contact_id}"}
    assert _value(response.text, count, status="200", **route) == 3
    assert _value(response.text, count, status="422", **route) == 1
    assert contact_id not in response.text
