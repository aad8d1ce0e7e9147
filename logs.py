"""Structured logs: one JSON object a line, carrying the enrollment's workflow id when there is one.

Temporal's `activity.logger` and `workflow.logger` attach the running activity's or workflow's
details to each record; they come out as top-level fields, so an operator can find every line
of one enrollment by its workflow id.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Of the details Temporal attaches, those worth a field of their own.
TEMPORAL_FIELDS = (
    "workflow_id",
    "run_id",
    "workflow_run_id",
    "workflow_type",
    "activity_type",
    "attempt",
    "task_queue",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for source in ("temporal_workflow", "temporal_activity"):
            details = getattr(record, source, None)
            if isinstance(details, dict):
                line.update({k: details[k] for k in TEMPORAL_FIELDS if k in details})
        if "workflow_run_id" in line:
            line["run_id"] = line.pop("workflow_run_id")
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str, structured: bool) -> None:
    """Root logging, and uvicorn's loggers that keep handlers of their own, in one format."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if structured
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
