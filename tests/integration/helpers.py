"""Test helpers: polling the projection that workflows update moments later, and the API calls
and database triggers the tests share."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, timeout: float = 30
) -> T:
    """Poll `probe` until `check` passes; fail with the last value seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.2)


async def get_json(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> Any:
    response = await http.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def timeline(http: httpx.AsyncClient, contact_id: str) -> list[dict[str, Any]]:
    """The contact's events, newest first."""
    events: list[dict[str, Any]] = await get_json(http, f"/contacts/{contact_id}/events")
    return events


async def enrollment_status(http: httpx.AsyncClient, enrollment_id: str, status: str) -> Any:
    return await eventually(
        lambda: get_json(http, f"/enrollments/{enrollment_id}"),
        lambda body: body["status"] == status,
    )


def welcome_series(delay: str = "PT2S") -> dict[str, Any]:
    return {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "wait", "kind": "delay", "duration": delay},
                    {
                        "id": "welcome",
                        "kind": "email",
                        "subject": "Welcome, {{ contact.first_name }}",
                        "body": "Hi {{ contact.full_name }}, glad you are here.",
                    },
                    {"id": "tag", "kind": "apply_tag", "tag": "welcomed"},
                ],
            }
        ]
    }


async def published_sequence(http: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    created = await http.post("/sequences", json={"name": "Welcome", "definition": definition})
    assert created.status_code == 201, created.text
    sequence_id: str = created.json()["id"]
    published = await http.post(f"/sequences/{sequence_id}/publish")
    assert published.status_code == 201, published.text
    return sequence_id


async def new_contact(http: httpx.AsyncClient, **fields: Any) -> str:
    body = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", **fields}
    created = await http.post("/contacts", json=body)
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    return contact_id


async def enroll(http: httpx.AsyncClient, sequence_id: str, contact_id: str) -> dict[str, Any]:
    response = await http.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def declare_field(http: httpx.AsyncClient, name: str, kind: str) -> None:
    response = await http.post("/custom-fields", json={"name": name, "type": kind})
    assert response.status_code == 201, response.text


@asynccontextmanager
async def trigger_at_commit(
    engine: AsyncEngine, name: str, body: str, tables: Sequence[str]
) -> AsyncIterator[None]:
    """A deferred constraint trigger: `body` (PL/pgSQL) runs for each row inserted into
    `tables` at COMMIT, once every statement of the transaction has succeeded."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"create or replace function {name}() returns trigger as $$ "
                f"begin {body} return null; end $$ language plpgsql"
            )
        )
        for table in tables:
            await connection.execute(
                text(
                    f"create constraint trigger {name} after insert on {table} "
                    f"deferrable initially deferred for each row execute function {name}()"
                )
            )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            for table in tables:
                await connection.execute(text(f"drop trigger {name} on {table}"))
            await connection.execute(text(f"drop function {name}()"))
