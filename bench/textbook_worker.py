"""A plain worker for the textbook workflows: `python -m bench.textbook_worker ADDRESS QUEUE
[--unsandboxed] [--floor DSN SMTP_HOST SMTP_PORT]`; sandboxed, as the SDK runs workflows by
default, unless told otherwise; with the floor's activity (bench.floor) when given where."""

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.floor import Floor
from bench.textbook import (
    SleepThenTagWorkflow,
    SleepUntilWorkflow,
    TextbookEffectsWorkflow,
    TextbookLocalWorkflow,
    TextbookWorkflow,
    do_step,
)
from workflows.client import DATA_CONVERTER


async def serve(address: str, task_queue: str, sandboxed: bool, floor: Floor | None) -> None:
    """Run until terminated."""
    # The starters' converter, so arguments such as datetimes decode the same way.
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    activities: list[Callable[..., Any]] = [do_step]
    if floor is not None:
        await floor.open()
        activities += [floor.do_effects, floor.tag_on_time]
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[
            TextbookWorkflow,
            TextbookLocalWorkflow,
            TextbookEffectsWorkflow,
            SleepUntilWorkflow,
            SleepThenTagWorkflow,
        ],
        activities=activities,
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
    ):
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.textbook_worker")
    parser.add_argument("address")
    parser.add_argument("queue")
    parser.add_argument("--unsandboxed", action="store_true")
    parser.add_argument("--floor", nargs=3, metavar=("DSN", "SMTP_HOST", "SMTP_PORT"))
    args = parser.parse_args()
    floor = Floor(args.floor[0], args.floor[1], int(args.floor[2])) if args.floor else None
    asyncio.run(serve(args.address, args.queue, not args.unsandboxed, floor))


if __name__ == "__main__":
    main()
