"""Removing an enrollment, then checking through visibility that nothing of it is left.

Visibility lists a deleted run for a while after its deletion (half a minute on the dev
server), and a run deleted in the middle of a step may finish that step's last write. So the
removal deletes what it finds, answers, then checks until visibility lists no run of the
enrollment, deleting again what it still finds, for up to a bound; past it, the removal fails
with the reason, visibly, for an operator to look at.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RemovalInput
    from activities.removal import RemovalActivities

# A deleted run's local activities end within their timeout; a row they wrote goes then.
SETTLE = timedelta(seconds=15)
CHECK_FOR = timedelta(minutes=10)
CHECK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=20),
)


def removal_id(enrollment_id: str) -> str:
    return f"removal:{enrollment_id}"


@workflow.defn
class RemovalWorkflow:
    def __init__(self) -> None:
        self._runs_deleted: int | None = None

    @workflow.run
    async def run(self, request: RemovalInput) -> int:
        self._runs_deleted = await workflow.execute_local_activity_method(
            RemovalActivities.remove_enrollment,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary="delete its runs and rows",
        )
        await workflow.sleep(SETTLE, summary="let a deleted run's last writes end")
        await workflow.execute_activity_method(
            RemovalActivities.check_removed,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=CHECK_FOR,
            retry_policy=CHECK_RETRY,
            summary="check visibility lists no run of it",
        )
        return self._runs_deleted

    @workflow.update
    async def removed(self) -> int:
        """How many runs were deleted, once they and the rows are."""
        await workflow.wait_condition(lambda: self._runs_deleted is not None)
        assert self._runs_deleted is not None
        return self._runs_deleted
