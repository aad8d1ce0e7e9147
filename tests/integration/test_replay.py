"""Committed histories replay against the current workflow code.

A change to workflows/ that would break enrollments already running fails here. To refresh the
histories after a deliberate, patched change: `make histories`, then commit tests/histories/.
"""

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from tests.integration.helpers import (
    enrollment_status,
    new_contact,
    published_sequence,
    welcome_series,
)
from workflows.client import DATA_CONVERTER
from workflows.enrollment import EnrollmentWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
RECORDING = os.environ.get("RECORD_HISTORIES") == "1"


async def _completed(admin: httpx.AsyncClient) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _stopped_and_reactivated(admin: httpx.AsyncClient) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT2S"))
    contact_id = await new_contact(admin)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await admin.post(f"/enrollments/{enrollment['id']}/stop", json={"reason": "paused"})
    await enrollment_status(admin, enrollment["id"], "stopped")
    await admin.post(f"/enrollments/{enrollment['id']}/reactivate")
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


async def _failed_and_retried(admin: httpx.AsyncClient) -> str:
    sequence_id = await published_sequence(admin, welcome_series("PT1S"))
    contact_id = await new_contact(admin, email=None)
    enrollment = (
        await admin.post(f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id})
    ).json()
    await enrollment_status(admin, enrollment["id"], "failed")
    await admin.patch(f"/contacts/{contact_id}", json={"email": "ada@example.com"})
    await admin.post(f"/enrollments/{enrollment['id']}/retry")
    await enrollment_status(admin, enrollment["id"], "completed")
    return str(enrollment["workflow_id"])


SCENARIOS: dict[str, Callable[[httpx.AsyncClient], Awaitable[str]]] = {
    "welcome_completed": _completed,
    "stopped_and_reactivated": _stopped_and_reactivated,
    "failed_and_retried": _failed_and_retried,
}


@pytest.mark.skipif(not RECORDING, reason="records histories only under `make histories`")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_history(
    name: str, admin: httpx.AsyncClient, worker: Worker, client: Client
) -> None:
    workflow_id = await SCENARIOS[name](admin)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    recorded = _without_stack_traces(history.to_json_dict())
    (HISTORIES / f"{name}.json").write_text(json.dumps(recorded, indent=1) + "\n")


def _without_stack_traces(node: Any) -> Any:
    """Failures carry the recording machine's file paths; replay does not need them."""
    if isinstance(node, dict):
        return {k: "" if k == "stackTrace" else _without_stack_traces(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_stack_traces(item) for item in node]
    return node


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
    replayer = Replayer(workflows=[EnrollmentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
