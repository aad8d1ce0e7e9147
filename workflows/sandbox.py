"""How workflow code runs: in the SDK's sandbox, with pure libraries shared rather than reloaded."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Jinja2 and email-validator, run by the checks on a decoded definition, import parts of
# themselves lazily, and Jinja2 makes a lock at import time; the sandbox refuses both. Neither
# does I/O, so they are shared with the worker.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "jinja2", "markupsafe", "email_validator", "idna"
    )
)
