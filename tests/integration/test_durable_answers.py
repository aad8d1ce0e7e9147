"""A 2xx means the write is committed: checked over a real uvicorn, with concurrent clients."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from api.main import create_app
from settings import Settings
from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import make_user_key
from tests.integration.helpers import trigger_at_commit, welcome_series

CLIENTS = 50


@pytest_asyncio.fixture(loop_scope="session")
async def admin_key(sessionmaker: SessionMaker) -> str:
    return await make_user_key(sessionmaker, Role.admin)


def _client(base_url: str, key: str) -> httpx.AsyncClient:
    """Each request on a connection of its own: on a kept-alive one, uvicorn would finish the
    previous request (its commit included) before reading the next, hiding a late commit."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def _create_then_use(base_url: str, key: str, n: int) -> list[str]:
    """One client's writes, each acted on the moment its answer arrives; the misses it saw."""
    misses: list[str] = []

    def expect(response: httpx.Response, status: int, what: str) -> Any:
        if response.status_code != status:
            misses.append(f"{what}: {response.status_code} {response.text}")
        return response.json()

    async with _client(base_url, key) as http:
        contact = expect(
            await http.post("/contacts", json={"email": f"c{n}@example.com"}), 201, "contact"
        )
        expect(await http.get(f"/contacts/{contact['id']}"), 200, "read contact")
        sequence = expect(
            await http.post("/sequences", json={"name": f"S{n}", "definition": welcome_series()}),
            201,
            "sequence",
        )
        expect(await http.post(f"/sequences/{sequence['id']}/publish"), 201, "publish")
        enrolled = expect(
            await http.post(
                f"/sequences/{sequence['id']}/enrollments", json={"contact_id": contact["id"]}
            ),
            201,
            "enroll",
        )
        enrollment_id = enrolled.get("enrollment_id") or enrolled.get("id")
        expect(await http.get(f"/enrollments/{enrollment_id}"), 200, "read enrollment")
    return misses


@pytest_asyncio.fixture(loop_scope="session")
async def slow_commits(engine: AsyncEngine) -> AsyncIterator[None]:
    """Commits that take a moment, as they do on a busy or replicated server: a deferred
    trigger sleeps at COMMIT, so an answer sent before its commit reaches the client first."""
    tables = ("contact", "sequence", "sequence_version")
    async with trigger_at_commit(engine, "test_slow_commit", "perform pg_sleep(0.2);", tables):
        yield


async def test_fifty_clients_read_their_own_writes_at_once(
    served_api: str, admin_key: str, worker: object, slow_commits: None
) -> None:
    results = await asyncio.gather(
        *(_create_then_use(served_api, admin_key, n) for n in range(CLIENTS))
    )
    misses = [miss for result in results for miss in result]
    assert misses == []


@pytest_asyncio.fixture(loop_scope="session")
async def failing_commits(engine: AsyncEngine) -> AsyncIterator[None]:
    """A deferred constraint on contacts, checked only at COMMIT: the route's statements all
    succeed, and the commit itself fails for a second contact with the same email."""
    body = (
        "if (select count(*) from contact where email = new.email) > 1 then "
        "raise exception 'email % taken', new.email using errcode = 'unique_violation', "
        "detail = format('Key (email)=(%s) already exists.', new.email); end if;"
    )
    async with trigger_at_commit(engine, "test_one_contact_per_email", body, ["contact"]):
        yield


async def test_a_commit_that_fails_is_the_answer_and_nothing_is_kept(
    served_api: str, admin_key: str, failing_commits: None
) -> None:
    async with _client(served_api, admin_key) as http:
        first = await http.post("/contacts", json={"email": "twice@example.com"})
        assert first.status_code == 201, first.text
        second = await http.post("/contacts", json={"email": "twice@example.com"})
        assert second.status_code == 409, second.text
        assert second.json()["detail"] == (
            "email 'twice@example.com' already exists; "
            "use another value, or change the existing record"
        )
        listed = (await http.get("/contacts", params={"email": "twice@example.com"})).json()
        assert listed["total"] == 1


async def test_concurrent_duplicates_are_conflicts_not_server_errors(
    served_api: str, admin_key: str
) -> None:
    async with _client(served_api, admin_key) as http:

        async def statuses(path: str, body: dict[str, Any]) -> Counter[int]:
            answers = await asyncio.gather(*(http.post(path, json=body) for _ in range(20)))
            for answer in answers:
                assert answer.status_code < 300 or answer.json()["status"] == answer.status_code
            return Counter(answer.status_code for answer in answers)

        users = await statuses("/users", {"email": "same@example.com", "role": "rep"})
        fields = await statuses("/custom-fields", {"name": "plan", "type": "text"})
    assert users == Counter({201: 1, 409: 19})
    assert fields == Counter({201: 1, 409: 19})


async def test_an_answer_that_raised_is_counted_and_shaped(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    app: FastAPI = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    key = await make_user_key(sessionmaker, Role.admin)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers={"Authorization": f"Bearer {key}"}
        ) as http:
            answer = await http.get("/broken")
            assert answer.status_code == 500
            assert answer.json()["title"] == "Internal Server Error"
            metrics = (await http.get("/metrics")).text
    assert 'route="/broken",status="500"' in metrics
