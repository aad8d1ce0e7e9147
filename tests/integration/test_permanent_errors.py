"""What no retry can mend fails the step for good with its reason, never retrying unseen."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from activities.permanent import PermanentDatabaseErrors
from store.db import SessionMaker
from tests.integration.helpers import enroll, enrollment_status, new_contact, published_sequence

ATTEMPTS: list[int] = []


def _store_a_value_that_cannot_fit(sessionmaker: SessionMaker) -> Callable[[], Awaitable[None]]:
    @activity.defn(name="store_a_value_that_cannot_fit")
    async def store() -> None:
        ATTEMPTS.append(activity.info().attempt)
        async with sessionmaker() as session:
            await session.execute(text("select 'not a number'::integer"))

    return store


@workflow.defn(name="StoresOnce", sandboxed=False)
class StoresOnce:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "store_a_value_that_cannot_fit",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


async def test_a_value_the_database_refuses_fails_the_activity_for_good(
    client: Client, sessionmaker: SessionMaker, task_queue: str
) -> None:
    ATTEMPTS.clear()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[StoresOnce],
        activities=[_store_a_value_that_cannot_fit(sessionmaker)],
        interceptors=[PermanentDatabaseErrors()],
    ):
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                # By name: the typed form for a workflow without arguments derails mypy's
                # inference of every other get_workflow_handle_for in the project.
                "StoresOnce",
                id=f"stores-once-{uuid.uuid4()}",
                task_queue=task_queue,
            )
    cause = failed.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.non_retryable
    assert cause.cause.message == (
        'the database refused a value: invalid input syntax for type integer: "not a number"'
    )
    assert ATTEMPTS == [1]


async def test_a_todo_title_too_long_to_keep_fails_the_step_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    long_title = "{% for i in range(40) %}{{ contact.full_name }} {% endfor %}"
    definition = {
        "tracks": [{"id": "main", "steps": [{"id": "call", "kind": "call", "title": long_title}]}]
    }
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, await published_sequence(admin, definition), contact_id)
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == (
        "step 'call': the to-do's title renders to 520 characters, over the 300 a title holds: "
        "shorten the step's title or what it merges"
    )
