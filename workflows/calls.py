"""Workflow-side calls to activities: which kind of activity, its timeouts and retries.

Database effects (the outbox, tags, CRM records, to-dos, announcements) and reads run as local
activities: each is a few milliseconds of SQL, and a round trip through the server per effect
would cost more than the work; they keep their effect keys, so a retry changes nothing twice.
Delivery tries locally first and falls back to a regular activity, which retries visibly for as
long as a provider is down. HTTP posts to other systems are regular activities.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        CloseOpenTasksInput,
        CloseTaskInput,
        ConditionInput,
        CreatedTask,
        CreateTaskInput,
        DeliverInput,
        DeliverResult,
        DueTime,
        HttpPostInput,
        HttpPostResult,
        ProjectionBatch,
        ProjectionUpdate,
        StepRunInput,
        StepRunResult,
        TimerInput,
    )
    from activities.delivery import DeliveryActivities
    from activities.http import HttpActivities
    from activities.projection import ProjectionActivities
    from activities.runs import StepRunActivities
    from activities.tasks import TaskActivities
    from activities.timers import TimerActivities

EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    # A template that cannot render fails the same way every time.
    non_retryable_error_types=["TemplateRenderError"],
)
# Reads and the projection must eventually succeed, so they retry for as long as it takes.
PERSISTENT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
# The first attempts at delivery, in the worker; then a regular activity takes over.
QUICK_DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=2)
EFFECT_TIMEOUT = timedelta(seconds=30)
HTTP_TIMEOUT = timedelta(seconds=60)
LOCAL_TIMEOUT = timedelta(seconds=10)

# How a step's activity fails for good: a regular activity's failure arrives wrapped in an
# ActivityError, a local activity's as the failure itself (or its timeout).
STEP_FAILURES = (ActivityError, ApplicationError, ActivityTimeout)

In = TypeVar("In")
Out = TypeVar("Out")


async def _remote(
    method: Callable[[Any, In], Awaitable[Out]],
    request: In,
    summary: str,
    timeout: timedelta = EFFECT_TIMEOUT,
    retry: RetryPolicy = EFFECT_RETRY,
) -> Out:
    """A regular activity: work that may take long, or retries visibly while a system is down."""
    return await workflow.execute_activity_method(
        method, request, start_to_close_timeout=timeout, retry_policy=retry, summary=summary
    )


async def _local(
    method: Callable[[Any, In], Awaitable[Out]],
    request: In,
    summary: str,
    retry: RetryPolicy = PERSISTENT_RETRY,
    timeout: timedelta = LOCAL_TIMEOUT,
) -> Out:
    return await workflow.execute_local_activity_method(
        method,
        request,
        start_to_close_timeout=timeout,
        retry_policy=retry,
        summary=summary,
    )


async def deliver(request: DeliverInput, step_id: str) -> DeliverResult:
    summary = f"{step_id}: deliver"
    try:
        return await _local(
            DeliveryActivities.deliver, request, summary, QUICK_DELIVERY_RETRY, EFFECT_TIMEOUT
        )
    except STEP_FAILURES as error:
        cause = error.cause if isinstance(error, ActivityError) else error
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            raise
    # A provider outage delays messages rather than failing them: retry for as long as it takes.
    return await _remote(DeliveryActivities.deliver, request, summary, retry=DELIVERY_RETRY)


async def run_steps(request: StepRunInput) -> StepRunResult:
    summary = ", ".join(f"{run.step.id}: {run.step.kind}" for run in request.steps)
    # Each step may take as long as it would alone.
    timeout = EFFECT_TIMEOUT * len(request.steps)
    return await _local(StepRunActivities.run_steps, request, summary, EFFECT_RETRY, timeout)


async def http_post(request: HttpPostInput, step_id: str) -> HttpPostResult:
    return await _remote(
        HttpActivities.http_post, request, f"{step_id}: POST {request.url}", HTTP_TIMEOUT
    )


async def create_task(request: CreateTaskInput) -> CreatedTask:
    summary = f"{request.step.id}: {request.step.kind} for a person"
    return await _local(TaskActivities.create_task, request, summary, EFFECT_RETRY, EFFECT_TIMEOUT)


# A person waits for the answer: a database that stays down fails the request, to be sent again.
PERSON_WAITING_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)


async def close_task(request: CloseTaskInput) -> bool:
    return await _local(
        TaskActivities.close_task,
        request,
        f"to-do {request.task_id}: {request.result}",
        PERSON_WAITING_RETRY,
    )


async def close_open_tasks(request: CloseOpenTasksInput) -> list[str]:
    return await _local(
        TaskActivities.close_open_tasks,
        request,
        f"stop: {request.status} open to-dos",
        PERSON_WAITING_RETRY,
    )


async def check_condition(request: ConditionInput, step_id: str) -> bool:
    return await _local(TaskActivities.check_condition, request, f"{step_id}: check", EFFECT_RETRY)


async def due_time(request: TimerInput) -> DueTime:
    return await _local(TimerActivities.due_time, request, f"{request.step.id}: when")


def _kind(update: ProjectionUpdate) -> str:
    return update.event.kind if update.event else "waiting"


async def record_progress(batch: ProjectionBatch) -> None:
    kinds = ", ".join(_kind(update) for update in batch.updates)
    await _local(ProjectionActivities.record_progress_batch, batch, kinds)
