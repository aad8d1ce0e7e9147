"""Fuzzing the API from its own OpenAPI schema with schemathesis.

Every operation gets generated requests, well-formed and malformed, sent with an admin key to the
real app (its lifespan: PostgreSQL and Temporal, with a worker running). No answer may be a 5xx,
and every answer must be one the schema documents: its status code, its content type, its headers
and the shape of its body. Malformed requests must be refused.

Each operation runs three ways: with data generated from the schema, with data that breaks it,
and, where its path names records, with the ids of records that exist (so the code behind the
404s runs too). The webhooks get their secrets and each request is signed as its provider would
sign it, so generated bodies reach the code that reads them.

Not checked, on purpose:
- `positive_data_acceptance`: a schema-valid body may still be refused with 422 by design. A
  sequence's definition is checked as a whole by `sequences.parse_definition` (so its errors name
  the step and field), and references (owners, companies, users) must exist; the schema cannot say
  either.
- `ignored_auth`, `unsupported_method`, `missing_required_header` and the other checks that send
  requests of their own: they would go through schemathesis's transport rather than this client
  on the session's event loop. Missing keys are still tried (negative cases drop the
  Authorization header and must get a 4xx), and test_authorization.py covers every route for
  every role.
"""

import asyncio
import hashlib
import hmac
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import hypothesis
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.worker import Worker

from api.main import create_app
from api.services.webhooks import twilio_signature
from settings import Settings
from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import make_user_key
from tests.integration.helpers import (
    declare_field,
    enroll,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)

Operation = APIOperation[Any, Any, Any, Any]
FuzzCase = Case[Operation]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Per operation and per way of running it; derandomized, so every run sends the same requests.
EXAMPLES = 15
BASE_URL = "http://api"
WEBHOOK_SECRET = "fuzz-webhook-secret"
TWILIO_TOKEN = "fuzz-twilio-token"
PUBLIC_URL = "https://campaigns.example.com"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_secret": WEBHOOK_SECRET,
            "twilio_auth_token": TWILIO_TOKEN,
            "public_base_url": PUBLIC_URL,
        }
    )


@pytest_asyncio.fixture(loop_scope="session")
async def fuzz_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan; an unhandled error comes back as the 500 a client sees."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60) as http:
            yield http


async def _known_ids(http: httpx.AsyncClient) -> dict[str, str]:
    """Records that exist: a running enrollment with a to-do and a letter waiting to be sent."""
    await declare_field(http, "birthday", "date")
    sequence_id = await published_sequence(
        http,
        {
            "tracks": [
                {"id": "calls", "steps": [{"id": "call", "kind": "call", "title": "Call"}]},
                {"id": "post", "steps": [{"id": "letter", "kind": "letter", "body": "Hello"}]},
            ]
        },
    )
    contact_id = await new_contact(
        http, mailing_address={"line1": "1 Main Street", "city": "Springfield"}
    )
    enrollment = await enroll(http, sequence_id, contact_id)
    tasks = await eventually(lambda: get_json(http, f"/contacts/{contact_id}/tasks"), bool)
    lists = await eventually(lambda: get_json(http, "/fulfillment-lists"), bool)
    export = await http.get(f"/fulfillment-lists/{lists[0]['id']}/export")
    entry_id = export.text.splitlines()[1].split(",")[0]
    user = await http.post("/users", json={"email": "rep@example.com", "role": "rep"})
    assert user.status_code == 201, user.text
    key = await http.post(f"/users/{user.json()['id']}/api-keys")
    assert key.status_code == 201, key.text
    tagged = await http.post(f"/contacts/{contact_id}/tags", json={"tag": "vip"})
    assert tagged.status_code == 200, tagged.text
    return {
        "sequence_id": sequence_id,
        "version": "1",
        "contact_id": contact_id,
        "tag": "vip",
        "enrollment_id": enrollment["id"],
        "task_id": tasks[0]["id"],
        "list_id": lists[0]["id"],
        "entry_id": entry_id,
        "user_id": user.json()["id"],
        "key_id": key.json()["id"],
    }


def _destructive(operation: Operation) -> bool:
    """Run last: with known ids these remove or close the records the others use."""
    return operation.method.upper() == "DELETE" or operation.path.endswith(("/archive", "/remove"))


def _body_bytes(prepared: requests.PreparedRequest) -> bytes:
    """The body as sent: requests keeps it as text, bytes, or (never here) a stream."""
    body = prepared.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    assert isinstance(body, bytes), f"unexpected body type {type(body)}"
    return body


def _prepared(case: FuzzCase, key: str) -> requests.PreparedRequest:
    """The request as schemathesis would send it, serialized by its own transport, with real
    credentials where the case has generated ones: a key for a bearer token, and signatures.
    Malformed cases may leave them out or mangle them, and must then be refused."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    fields = ("method", "url", "headers", "params", "cookies", "json", "data", "files")
    prepared = requests.Request(**{k: kwargs[k] for k in fields if k in kwargs}).prepare()
    if str(prepared.headers.get("Authorization", "")).lower().startswith("bearer "):
        prepared.headers["Authorization"] = f"Bearer {key}"
    raw = _body_bytes(prepared)
    if "X-Signature-256" in prepared.headers:
        timestamp = str(int(time.time()))
        signed = timestamp.encode() + b"." + raw
        digest = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        prepared.headers["X-Signature-256"] = f"sha256={digest}"
        # A case without the timestamp (a malformed one) stays without it, and must be refused.
        if "X-Webhook-Timestamp" in prepared.headers:
            prepared.headers["X-Webhook-Timestamp"] = timestamp
    if "X-Twilio-Signature" in prepared.headers:
        url = urlsplit(str(prepared.url))
        signed_url = PUBLIC_URL + url.path + (f"?{url.query}" if url.query else "")
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        except ValueError:
            pairs = []  # not a form the app can read: it refuses it before the signature
        prepared.headers["X-Twilio-Signature"] = twilio_signature(TWILIO_TOKEN, signed_url, pairs)
    return prepared


def _fuzz(
    schema: Any,
    send: Callable[[requests.PreparedRequest], httpx.Response],
    key: str,
    known: dict[str, str],
) -> tuple[list[str], Counter[int]]:
    """Run every operation; collect each one's failures rather than stopping at the first, and
    the status codes answered."""
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_destructive)
    failures = []
    statuses: Counter[int] = Counter()
    for operation in operations:
        path_names = {p.name for p in operation.path_parameters}
        strategies = {
            "generated": operation.as_strategy(GenerationMode.POSITIVE),
            "malformed": operation.as_strategy(GenerationMode.NEGATIVE),
        }
        if path_names and path_names <= set(known):
            strategies["known ids"] = operation.as_strategy(
                GenerationMode.POSITIVE,
                path_parameters={name: known[name] for name in path_names},
            )
        for kind, strategy in strategies.items():

            @hypothesis.given(case=strategy)
            @hypothesis.settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                # No shrinking: a failure is reported as found, with its curl command.
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            def run(case: FuzzCase) -> None:
                response = send(_prepared(case, key))
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (no parameters, or only free text).
                if kind != "malformed":
                    raise
            except (Exception, FailureGroup) as error:
                failures.append(f"{operation.label} ({kind}): {error}")
    return failures, statuses


async def test_generated_requests_get_documented_answers_and_no_5xx(
    fuzz_client: httpx.AsyncClient, sessionmaker: SessionMaker, worker: Worker
) -> None:
    key = await make_user_key(sessionmaker, Role.admin)
    fuzz_client.headers["Authorization"] = f"Bearer {key}"
    known = await _known_ids(fuzz_client)
    # From here on, each request carries the credentials its case has (see _prepared).
    del fuzz_client.headers["Authorization"]
    schema = schemathesis.openapi.from_dict((await fuzz_client.get("/openapi.json")).json())
    loop = asyncio.get_running_loop()

    def send(prepared: requests.PreparedRequest) -> httpx.Response:
        request = fuzz_client.request(
            str(prepared.method),
            str(prepared.url),
            headers={name: str(value) for name, value in prepared.headers.items()},
            content=_body_bytes(prepared),
        )
        return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=120)

    # Hypothesis runs synchronously, so it runs in a thread while this loop serves the app.
    failures, statuses = await asyncio.to_thread(_fuzz, schema, send, key, known)
    assert not failures, "\n\n".join(failures)
    # The run reached the app's code, not only its front door: keys and signatures were taken,
    # known records were found, and generated ids and malformed input were refused.
    assert {200, 201, 202, 401, 404, 409, 422} <= set(statuses), statuses
    assert 500 not in statuses
