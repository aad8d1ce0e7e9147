"""A permanent failure and its repair, run beside the faults: the sink refuses one contact's
address, so the enrollment must fail with the reason; an operator fixes the address and
retries, and the enrollment must then complete with each email sent once.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from temporalio.service import RPCError

from bench.chaos_report import ChaosReport
from bench.stack import Stack

# Visibility lags the workflow by moments, or by a Temporal restart.
VISIBLE_WITHIN_S = 60.0


async def refuse_fix_retry(
    stack: Stack,
    api: httpx.AsyncClient,
    report: ChaosReport,
    *,
    contact_id: str,
    refused: str,
    fixed: str,
    retry_after: asyncio.Event,
    clock: Callable[[], float],
) -> None:
    """Records what it sees in `report.retry`; a broken expectation is a violation there.

    `retry_after` holds the retry back until it is set: the run sets it once Temporal has been
    restarted, so the retry also proves the API reaches Temporal again. `clock` times the retry
    on the run's own clock.
    """
    flow = report.retry
    flow.fixed_address = fixed
    # However long the faults delay it: the run cancels this when its time is up, or once the
    # enrollment finished without ever failing, and says so.
    failed = await _until(api, flow.enrollment_id, "failed")
    flow.failure_reason = failed["failure_reason"]
    if not flow.failure_reason or refused not in flow.failure_reason:
        report.violations.append(
            f"enrollment {flow.enrollment_id} failed without naming {refused}: "
            f"{flow.failure_reason!r}"
        )
    flow.failed_in_temporal_after_s = await _failed_in_temporal(stack, flow.workflow_id)
    flow.failed_in_temporal = flow.failed_in_temporal_after_s is not None
    if not flow.failed_in_temporal:
        report.violations.append(
            f"workflow {flow.workflow_id} is not found by EnrollmentStatus = 'failed' in "
            f"Temporal within {VISIBLE_WITHIN_S:.0f}s"
        )

    await retry_after.wait()
    patched = await api.patch(f"/contacts/{contact_id}", json={"email": fixed})
    patched.raise_for_status()
    answer = await api.post(f"/enrollments/{flow.enrollment_id}/retry")
    flow.retried_at_s = clock()
    if answer.status_code != 202:
        report.violations.append(
            f"retrying enrollment {flow.enrollment_id} answered {answer.status_code}: {answer.text}"
        )


async def _until(api: httpx.AsyncClient, enrollment_id: str, status: str) -> dict[str, Any]:
    """The enrollment once it has `status`, polled once a second."""
    while True:
        enrollment: dict[str, Any] = (await api.get(f"/enrollments/{enrollment_id}")).json()
        if enrollment["status"] == status:
            return enrollment
        await asyncio.sleep(1)


async def _failed_in_temporal(stack: Stack, workflow_id: str) -> float | None:
    """How long until an operator's visibility query found it failed; None if it never did.

    Retried while Temporal is restarting."""
    query = f"WorkflowId = '{workflow_id}' AND EnrollmentStatus = 'failed'"
    began = time.monotonic()
    while time.monotonic() - began < VISIBLE_WITHIN_S:
        try:
            client = await stack.temporal_client()
            if [w.id async for w in client.list_workflows(query)] == [workflow_id]:
                return time.monotonic() - began
        except (RPCError, RuntimeError):
            # Temporal may be down for a restart right now; connecting again is the point.
            pass
        await asyncio.sleep(1)
    return None
