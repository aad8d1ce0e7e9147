"""The web app's pages at scale, each timed as a signed-in admin opens it: the To-Do list (every
sleeping enrollment put a to-do on it), the sequence drawn with its counts and report, its
enrolled contacts, a contact's page, and the sequence's draft on the canvas."""

import time
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from api.services import people
from bench.harness import Services
from bench.lateness import percentiles
from store import web_sessions
from store.db import transaction
from store.models import Enrollment
from web.auth import SESSION_COOKIE


async def _signed_in(services: Services, email: str) -> str:
    async with transaction(services.sessionmaker) as session:
        user = await web_sessions.user_with_email(session, email)
        assert user is not None
        return (await people.open_session(session, user)).token


async def page_latencies(
    services: Services, sequence_id: str, requests: int, email: str = "bench@example.com"
) -> dict[str, list[float]]:
    """p50 and p99 in ms of each page."""
    cookies = {SESSION_COOKIE: await _signed_in(services, email)}
    async with services.sessionmaker() as session:
        contact_id = await session.scalar(select(col(Enrollment.contact_id)).limit(1))
    pages = {
        "todo": "/app/todo",
        "sequence": f"/app/sequences/{sequence_id}",
        "enrolled": f"/app/sequences/{sequence_id}/enrollments",
        "contact": f"/app/contacts/{contact_id}",
        "canvas": f"/app/sequences/{sequence_id}/edit",
    }
    found: dict[str, Any] = {}
    for name, path in pages.items():
        timings = []
        for _ in range(requests):
            began = time.perf_counter()
            response = await services.api.get(path, cookies=cookies)
            timings.append(time.perf_counter() - began)
            response.raise_for_status()
        found[name] = [round(v * 1000, 1) for v in percentiles(timings)]
    return found
