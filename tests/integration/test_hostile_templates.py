"""Templates that ask for endless work or memory are refused at publish, or fail their step with
the reason at render, while the API and the worker go on answering everyone else."""

import asyncio
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import make_user_key
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    new_contact,
    published_sequence,
    welcome_series,
)


def _emailing(body: str) -> dict[str, Any]:
    step = {"id": "mail", "kind": "email", "subject": "Hello", "body": body}
    return {"tracks": [{"id": "main", "steps": [step]}]}


@pytest_asyncio.fixture(loop_scope="session")
async def http(served_api: str, sessionmaker: SessionMaker) -> Any:
    key = await make_user_key(sessionmaker, Role.admin)
    async with httpx.AsyncClient(
        base_url=served_api, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ 10 ** (10 ** 8) }}", "10 ** 100000000 is too large a number to compute"),
        ("{% for x in range(10**9) %}x{% endfor %}", "range() gives at most 10,000 numbers"),
        ("{{ 'a' * 10**9 }}", "repeating a value 1,000,000,000 times grows past 1,000,000"),
        (
            "{% for x in range(100000) %}{% for y in range(100000) %}{% endfor %}{% endfor %}",
            "range() gives at most 10,000 numbers",
        ),
        ("{{ lipsum(100000) }}", "unknown name(s) lipsum"),
        ("{{ '%0999999999d' % 1 }}", "'%' formatting of text is not available"),
        ("{{ 'a' | center(999999999) }}", "No filter named 'center'"),
    ],
)
async def test_a_template_that_cannot_finish_is_refused_at_publish_while_others_are_served(
    http: httpx.AsyncClient, template: str, reason: str
) -> None:
    hostile = http.post("/sequences", json={"name": "Hostile", "definition": _emailing(template)})
    answers = await asyncio.gather(hostile, *(http.get("/health") for _ in range(5)))
    refused, *healthy = answers
    assert refused.status_code == 422, refused.text
    assert reason in refused.json()["detail"], refused.text
    assert all(answer.status_code == 200 for answer in healthy)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (
            "{% for x in range(10000) %}{% for y in range(10000) %}{% endfor %}{% endfor %}",
            "the template took longer than 2 s to render",
        ),
        (
            "{% for x in range(10000) %}{{ 'a' * 1000 }}{% endfor %}",
            "the template renders past 1,000,000 characters",
        ),
        (
            "{{ contact.first_name | replace('', 'x' * 100000) }}",
            "replace() could grow the text past 1,000,000 characters",
        ),
    ],
)
async def test_a_template_too_costly_to_render_fails_its_step_while_others_run(
    admin: httpx.AsyncClient, worker: Worker, template: str, reason: str
) -> None:
    costly = await published_sequence(admin, _emailing(template))
    plain = await published_sequence(admin, welcome_series("PT1S"))
    failing = await enroll(admin, costly, await new_contact(admin, first_name="Ada" * 20))
    running = await enroll(admin, plain, await new_contact(admin, email="b@example.com"))
    failed = await enrollment_status(admin, failing["id"], "failed")
    assert failed["failure_reason"] == (
        f"step 'mail': the template could not be rendered: {reason}"
    ), failed
    await enrollment_status(admin, running["id"], "completed")
