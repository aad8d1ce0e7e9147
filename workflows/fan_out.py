"""Telling enrollments and goals of an event once the transaction that recorded it committed.

The API starts this workflow inside the transaction that records the event and commits after:
if the start fails, nothing is recorded; if the commit fails, this workflow finds it rolled back
and tells no one. Either way the event's record and its effects agree.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import FanOutInput, FanOutResult
    from activities.events import EventActivities

RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
TIMEOUT = timedelta(seconds=30)


def fan_out_id(event_id: str) -> str:
    return f"fan-out:{event_id}"


@workflow.defn
class EventFanOutWorkflow:
    @workflow.run
    async def run(self, request: FanOutInput) -> FanOutResult:
        committed = await workflow.execute_local_activity_method(
            EventActivities.committed,
            request.transaction,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
            summary="wait for the recording transaction to end",
        )
        if not committed:
            return FanOutResult(committed=False)
        return await workflow.execute_local_activity_method(
            EventActivities.fan_out_event,
            request,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
            summary=f"tell enrollments of {request.event}",
        )
