"""The baseline: the textbook Temporal workflow of the same shape, each step one regular
activity and one durable sleep, written plainly."""

import asyncio
import sys
from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.client import DATA_CONVERTER


@activity.defn
async def do_step(step: int) -> int:
    return step


@workflow.defn
class TextbookWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                do_step, step, start_to_close_timeout=timedelta(seconds=30)
            )
            await workflow.sleep(timedelta(seconds=1))
        return steps


@workflow.defn
class SleepUntilWorkflow:
    """Measured like an enrollment's timer step: the workflow time of the task after the fire."""

    @workflow.run
    async def run(self, due: datetime) -> float:
        await workflow.sleep(max(due - workflow.now(), timedelta(0)))
        return (workflow.now() - due).total_seconds()


async def serve(address: str, task_queue: str) -> None:
    """Run a plain worker for the textbook workflow until terminated."""
    # The starters' converter, so arguments such as datetimes decode the same way.
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[TextbookWorkflow, SleepUntilWorkflow],
        activities=[do_step],
    ):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
