"""Removing an enrollment for good: its workflow runs, their histories, and every row of it."""

import asyncio

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from store.models import Enrollment, EnrollmentStatus
from workflows import search_attributes as sa


async def remove_enrollment(session: AsyncSession, temporal: Client, enrollment: Enrollment) -> int:
    """Delete the enrollment's runs from Temporal and its rows from the database.

    The enrollment's messages, tasks, events and records go with it (foreign keys cascade);
    the contact and its tags stay. Returns how many workflow runs were deleted.
    """
    runs = [
        (execution.id, execution.run_id)
        async for execution in temporal.list_workflows(
            f"{sa.ENROLLMENT_ID.name} = '{enrollment.id}'"
        )
    ]
    if enrollment.status != EnrollmentStatus.completed and not runs:
        # Visibility lags a new run by a moment; the running one is the latest of its id.
        runs = [(enrollment.workflow_id, "")]
    await asyncio.gather(*(_delete_run(temporal, wid, rid) for wid, rid in runs))
    await session.execute(delete(Enrollment).where(col(Enrollment.id) == enrollment.id))
    return len(runs)


async def _delete_run(temporal: Client, workflow_id: str, run_id: str) -> None:
    """Deleting a running execution terminates it first; a missing one is already gone."""
    request = DeleteWorkflowExecutionRequest(
        namespace=temporal.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
    )
    try:
        await temporal.workflow_service.delete_workflow_execution(request)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
