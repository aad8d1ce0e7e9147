"""The sandbox's cost: the committed workflow histories replayed through the worker's
sandboxed runner against the SDK's unsandboxed one.

A replay runs the workflow code of a whole run (a new instance, every activation) with no
server, database or network, so the ratio is the sandbox's share of a worker's workflow CPU.
"""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner

from worker import WORKFLOWS
from workflows.client import DATA_CONVERTER
from workflows.sandbox import SANDBOXED_RUNNER, cache_bytecode

HISTORIES = Path(__file__).resolve().parents[1] / "tests" / "histories"


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def _replays_per_second(
    runner: WorkflowRunner, histories: list[WorkflowHistory], rounds: int
) -> float:
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER, workflow_runner=runner
    )
    began = time.perf_counter()
    for _ in range(rounds):
        async with replayer.workflow_replay_iterator(_each(histories)) as results:
            async for result in results:
                if result.replay_failure is not None:
                    raise result.replay_failure
    return rounds * len(histories) / (time.perf_counter() - began)


async def sandbox_cost(rounds: int, repeat: int) -> dict[str, Any]:
    for workflow_class in WORKFLOWS:  # as the worker does at start
        cache_bytecode(workflow_class)
    histories = [
        WorkflowHistory.from_json(path.stem, path.read_text())
        for path in sorted(HISTORIES.glob("*.json"))
    ]
    # Alternated, best of each: the least disturbed by other load on the machine.
    bare, sandboxed = 0.0, 0.0
    for _ in range(repeat):
        bare = max(bare, await _replays_per_second(UnsandboxedWorkflowRunner(), histories, rounds))
        sandboxed = max(sandboxed, await _replays_per_second(SANDBOXED_RUNNER, histories, rounds))
    return {
        "name": f"sandbox cost, {len(histories)} committed histories replayed",
        "unit": "runs/s",
        "baseline": round(bare, 1),
        "project": round(sandboxed, 1),
        "ratio": round(sandboxed / bare, 3),
    }
