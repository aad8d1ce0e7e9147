"""How workflow code runs: in the SDK's sandbox, or, in production workers, without it.

The sandbox re-executes the workflow module for every run and wraps every activation, and every
payload's conversion, in its import guards: a third of a busy worker's CPU (bench/sandbox.py
measures it). It catches workflow code that reaches for I/O, the clock or randomness. Tests
replay every committed history under it, so such code fails CI rather than production.
"""

import compileall
import logging
import sys

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

log = logging.getLogger(__name__)

# Jinja2 and email-validator, run by the checks on a decoded definition, import parts of
# themselves lazily, and Jinja2 makes a lock at import time; the sandbox refuses both. Neither
# does I/O, so they are shared with the worker.
SANDBOXED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "jinja2", "markupsafe", "email_validator", "idna"
    )
)


def workflow_runner(*workflow_classes: type, sandboxed: bool) -> WorkflowRunner:
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    for workflow_class in workflow_classes:
        cache_bytecode(workflow_class)
    return SANDBOXED_RUNNER


def cache_bytecode(workflow_class: type) -> None:
    """The sandbox executes a workflow's module afresh for every workflow run. Where Python
    writes no bytecode cache (PYTHONDONTWRITEBYTECODE, as in the image) that meant compiling the
    module from source every time, a tenth of a busy worker's CPU; compile it once instead."""
    path = sys.modules[workflow_class.__module__].__file__
    if path is None or not compileall.compile_file(path, quiet=2):
        log.warning("no bytecode cache for %s: every workflow run compiles it", path)
