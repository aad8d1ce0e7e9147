"""Oversized bodies are refused with 413 before they are read into memory; text the database
cannot store is refused with 422 naming where it is."""

import json
from collections.abc import AsyncIterator

import httpx
from starlette.types import Receive, Scope, Send

from api.limits import MAX_BODY_BYTES, BodySizeLimit
from tests.integration.helpers import new_contact

TWO_MIB = 2 * 1024 * 1024
TOO_LARGE = "the request body is over the limit of 1,048,576 bytes (1 MiB)"


def _oversized_definition() -> bytes:
    """A sequence whose email's HTML alone makes the body 2 MiB."""
    step = {"id": "hello", "kind": "email", "subject": "Hi", "body": "Hi", "html": "x" * TWO_MIB}
    body = {"name": "Huge", "definition": {"tracks": [{"id": "main", "steps": [step]}]}}
    return json.dumps(body).encode()


async def test_a_2_mib_sequence_or_event_is_refused_with_413(admin: httpx.AsyncClient) -> None:
    contact_id = await new_contact(admin)
    event = {
        "contact_id": contact_id,
        "event": "custom",
        "name": "big",
        "data": {"x": "y" * TWO_MIB},
    }
    for path, body in (
        ("/sequences", _oversized_definition()),
        ("/events", json.dumps(event).encode()),
    ):
        response = await admin.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, (path, response.text)
        assert response.json()["detail"].startswith(TOO_LARGE), path
        assert "send a smaller body" in response.json()["detail"]
    assert (await admin.get("/sequences")).json() == []


async def test_a_chunked_body_is_cut_off_once_over_the_limit(admin: httpx.AsyncClient) -> None:
    body = _oversized_definition()
    chunk = 64 * 1024
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for start in range(0, len(body), chunk):
            sent += chunk
            yield body[start : start + chunk]

    response = await admin.post(
        "/sequences", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413, response.text
    assert response.json()["detail"].startswith(TOO_LARGE)
    # Refused as soon as the limit was passed, not after the whole body was read.
    assert sent <= MAX_BODY_BYTES + chunk < len(body)


async def test_a_body_under_the_limit_is_read(admin: httpx.AsyncClient) -> None:
    """Just under 1 MiB is a sequence like any other: the limit leaves room for the largest
    email the sequence language allows (500,000 characters of HTML)."""
    step = {"id": "hello", "kind": "email", "subject": "Hi", "body": "Hi", "html": "x" * 500_000}
    body = {"name": "Big", "definition": {"tracks": [{"id": "main", "steps": [step]}]}}
    response = await admin.post("/sequences", json=body)
    assert response.status_code == 201, response.text[:500]


async def test_a_body_read_outside_a_route_is_refused_too() -> None:
    """The middleware answers itself when what read the body did not turn it into a response."""

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    transport = httpx.ASGITransport(app=BodySizeLimit(reader, limit=10))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"123456"

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/", content=chunks())
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert response.json()["detail"] == (
        "the request body is over the limit of 10 bytes; "
        "send a smaller body, or split the work into several requests"
    )


async def test_text_the_database_cannot_store_is_refused(admin: httpx.AsyncClient) -> None:
    for body, where in (
        ({"first_name": "Ada\u0000"}, "first_name: text cannot contain NUL characters"),
        ({"fields": {"note": {"deep": ["ok", "\ud800"]}}}, "fields.note.deep[1]: text cannot"),
        ({"fields": {"bad\u0000key": 1}}, "a key in fields: text cannot contain NUL"),
    ):
        response = await admin.post(
            "/contacts",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert where in response.json()["errors"][0]["msg"], response.text

    nan = await admin.post(
        "/events",
        content=b'{"contact_id": "00000000-0000-0000-0000-000000000000", "event": "purchase", '
        b'"data": {"amount": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422, nan.text
    assert "data.amount: nan is not a JSON number" in nan.json()["errors"][0]["msg"]

    not_utf8 = await admin.post(
        "/contacts", content=b'{"first_name": "\xff"}', headers={"content-type": "application/json"}
    )
    assert not_utf8.status_code == 422, not_utf8.text
    assert not_utf8.json()["errors"][0]["msg"].startswith("the body is not UTF-8 text")

    nested = '{"fields": {"a": ' + "[" * 40 + "]" * 40 + "}}"
    deep = await admin.post(
        "/contacts", content=nested.encode(), headers={"content-type": "application/json"}
    )
    assert deep.status_code == 422, deep.text
    assert "nested more than 32 levels deep; flatten it" in deep.json()["errors"][0]["msg"]
    deeper = await admin.post(
        "/contacts", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    assert deeper.status_code == 422, deeper.text
    assert deeper.json()["errors"][0]["msg"] == "the body is nested too deeply to read; flatten it"

    nul_query = await admin.get("/contacts", params={"email": "a\u0000@example.com"})
    assert nul_query.status_code == 422, nul_query.text
    assert nul_query.json()["errors"][0]["loc"] == ["query", "email"]
