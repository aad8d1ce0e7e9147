"""Removing an enrollment for good, through the workflow that removes it and then checks that
visibility lists nothing of it: one writer for the runs and the rows."""

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.contracts import RemovalInput
from store.models import Enrollment, EnrollmentStatus
from workflows.removal import RemovalWorkflow, removal_id


async def remove_enrollment(temporal: Client, task_queue: str, enrollment: Enrollment) -> int:
    """Delete the enrollment's runs from Temporal and its rows from the database; answers once
    both are gone, while the check through visibility goes on. Returns how many runs went."""
    request = RemovalInput(
        enrollment_id=str(enrollment.id),
        workflow_id=enrollment.workflow_id,
        running=enrollment.status != EnrollmentStatus.completed,
    )
    start = WithStartWorkflowOperation(
        RemovalWorkflow.run,
        request,
        id=removal_id(str(enrollment.id)),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"remove enrollment {enrollment.id}",
    )
    return await temporal.execute_update_with_start_workflow(
        RemovalWorkflow.removed, start_workflow_operation=start
    )
