"""A plain worker for the textbook workflows: `python -m bench.textbook_worker ADDRESS QUEUE
[unsandboxed]`; sandboxed, as the SDK runs workflows by default, unless told otherwise."""

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.textbook import SleepUntilWorkflow, TextbookLocalWorkflow, TextbookWorkflow, do_step
from workflows.client import DATA_CONVERTER


async def serve(address: str, task_queue: str, sandboxed: bool) -> None:
    """Run until terminated."""
    # The starters' converter, so arguments such as datetimes decode the same way.
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[TextbookWorkflow, TextbookLocalWorkflow, SleepUntilWorkflow],
        activities=[do_step],
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
    ):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], sandboxed=sys.argv[3:] != ["unsandboxed"]))
