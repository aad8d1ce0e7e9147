"""The sandbox executes the workflow's own module again for every workflow run, and only that
module: the helpers it imports are shared with the worker, and its bytecode is compiled once.
Loading and compiling them again took a quarter of a busy worker's CPU."""

import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

import workflows.calls
import workflows.enrollment
import workflows.search_attributes
import workflows.state
import workflows.steps.runs
from workflows.client import DATA_CONVERTER
from workflows.enrollment import EnrollmentWorkflow
from workflows.sandbox import SANDBOXED_RUNNER, cache_bytecode

HISTORY = Path(__file__).resolve().parents[1] / "histories" / "welcome_completed.json"


async def test_workflow_helpers_are_shared_with_the_worker_not_reloaded_per_run() -> None:
    instances: list[WorkflowInstance] = []

    class RecordingRunner(SandboxedWorkflowRunner):
        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            instances.append(super().create_instance(det))
            return instances[-1]

    runner = RecordingRunner(restrictions=SANDBOXED_RUNNER.restrictions)
    replayer = Replayer(
        workflows=[EnrollmentWorkflow], data_converter=DATA_CONVERTER, workflow_runner=runner
    )
    history = WorkflowHistory.from_json("welcome", HISTORY.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None

    instance = instances[-1]
    assert isinstance(instance, _Instance)
    sandboxed: Any = instance.globals_and_locals["__temporal_workflow_class"]
    module_globals = sandboxed.run.__globals__
    # The workflow module itself is fresh: the sandbox isolates its state.
    assert sandboxed is not EnrollmentWorkflow
    assert module_globals["calls"] is workflows.calls
    assert module_globals["runs"] is workflows.steps.runs
    assert module_globals["sa"] is workflows.search_attributes
    assert module_globals["EnrollmentState"] is workflows.state.EnrollmentState


def test_the_workflow_module_is_compiled_once_for_all_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = workflows.enrollment.__file__
    Path(importlib.util.cache_from_source(path)).unlink(missing_ok=True)
    cache_bytecode(EnrollmentWorkflow)

    def compiled_again(*args: object) -> None:
        raise AssertionError("the sandbox compiled the workflow module from source")

    monkeypatch.setattr(SourceFileLoader, "source_to_code", compiled_again)
    loader = SourceFileLoader("workflows.enrollment", path)
    assert loader.get_code("workflows.enrollment") is not None
