"""Removing an enrollment for good: its workflow runs, their histories, and every row of it."""

import asyncio
import uuid

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import RemovalInput
from store import enrollments
from store.db import SessionMaker, transaction
from workflows import search_attributes as sa


class RemovalActivities:
    def __init__(self, sessionmaker: SessionMaker, temporal: Client) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal

    @activity.defn
    async def remove_enrollment(self, request: RemovalInput) -> int:
        """Delete every run visibility lists for the enrollment, and its rows; how many runs."""
        runs = await self._listed_runs(request)
        if request.running and not runs:
            # Visibility lags a new run by a moment; the running one is the latest of its id.
            runs = [(request.workflow_id, "")]
        await self._delete(request, runs)
        return len(runs)

    @activity.defn
    async def check_removed(self, request: RemovalInput) -> None:
        """Succeed once visibility lists no run of the enrollment; until then delete again
        what it lists (and any row a deleted run's last write put back) and fail, to retry."""
        runs = await self._listed_runs(request)
        await self._delete(request, runs)
        if runs:
            raise ApplicationError(
                f"visibility still lists {len(runs)} run(s) of enrollment {request.enrollment_id};"
                " deleted them again",
                type="StillListed",
            )

    async def _listed_runs(self, request: RemovalInput) -> list[tuple[str, str]]:
        query = f"{sa.ENROLLMENT_ID.name} = '{request.enrollment_id}'"
        return [(run.id, run.run_id) async for run in self._temporal.list_workflows(query)]

    async def _delete(self, request: RemovalInput, runs: list[tuple[str, str]]) -> None:
        await asyncio.gather(
            *(self._delete_run(workflow_id, run_id) for workflow_id, run_id in runs)
        )
        async with transaction(self._sessionmaker) as session:
            await enrollments.delete_enrollment(session, uuid.UUID(request.enrollment_id))

    async def _delete_run(self, workflow_id: str, run_id: str) -> None:
        """Deleting a running execution terminates it first; a missing one is already gone."""
        request = DeleteWorkflowExecutionRequest(
            namespace=self._temporal.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        )
        try:
            await self._temporal.workflow_service.delete_workflow_execution(request)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
