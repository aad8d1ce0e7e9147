"""Logs are JSON lines that carry the enrollment's workflow id."""

import json
import logging
import sys

import httpx
import pytest
from temporalio.worker import Worker

from logs import JsonFormatter
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import enroll, enrollment_status, new_contact, published_sequence

GREETING = {
    "tracks": [
        {"id": "main", "steps": [{"id": "hi", "kind": "email", "subject": "Hi", "body": "b"}]}
    ]
}


async def test_activity_and_workflow_lines_carry_the_workflow_id(
    admin: httpx.AsyncClient,
    worker: Worker,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    enrollment = await enroll(
        admin, await published_sequence(admin, GREETING), await new_contact(admin)
    )
    await enrollment_status(admin, enrollment["id"], "completed")

    lines = [json.loads(JsonFormatter().format(record)) for record in caplog.records]
    mine = [line for line in lines if line.get("workflow_id") == enrollment["workflow_id"]]
    sent = [line for line in mine if line["logger"] == "temporalio.activity"]
    done = [line for line in mine if line["logger"] == "temporalio.workflow"]
    assert [line["activity_type"] for line in sent] == ["run_steps"]
    assert "sent to ada@example.com" in sent[0]["message"]
    assert any("enrollment completed" in line["message"] for line in done)
    assert all(line["run_id"] and line["level"] for line in mine)


def test_a_plain_record_has_no_workflow_fields_and_keeps_its_error() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("api", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "failed x" and line["level"] == "ERROR"
    assert "workflow_id" not in line
    assert "ValueError: boom" in line["error"]
