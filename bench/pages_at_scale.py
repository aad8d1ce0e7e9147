"""The web app's pages with many enrollments in the database, beside GET /health: each
enrollment of one sequence put a to-do on the signed-in admin's list, had its offer email (a
share opened, clicked, replied to) and waits on a 30-day delay. The rows are written straight to
the database, as the sleepers' engagement is (enrolling as many through workflows is what the
sleepers benchmark measures); the triggers keep the report's tallies as they do for real ones."""

import uuid
from typing import Any

from sqlalchemy import text

from bench.engagement import sent_offers
from bench.harness import Services
from bench.lateness import percentiles
from bench.pages import page_latencies
from bench.sleepers import WAITING, latencies
from bench.steps import published
from store import web_sessions
from store.db import transaction

_CONTACTS = """
INSERT INTO contact (id, email, first_name, last_name, phone, fields, mailing_address,
                     do_not_contact, created_at)
SELECT gen_random_uuid(), 'p' || n || '@example.com', 'P' || n, 'Page', '+1555' || n, '{}',
       '{}', '[]', now()
FROM generate_series(1, :count) n
"""
# One per contact, enrolled over the last 30 days, standing on the delay after its to-do.
_ENROLLMENTS = """
INSERT INTO enrollment (id, sequence_id, version, enrolled_version, contact_id, workflow_id,
                        status, current_step, enrolled_by, revision, created_at, updated_at,
                        next_due_at)
SELECT gen_random_uuid(), :sequence_id, 1, 1, c.id, 'enrollment:' || :sequence_id || ':' || c.id,
       'active', 'wait', :admin, 1, now() - (n % 30) * interval '1 day', now(),
       now() + interval '30 days'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contact
      WHERE last_name = 'Page') c
"""
_COMPLETED = """
INSERT INTO enrollment_event (enrollment_id, effect_key, kind, track_id, step_id, detail,
                              occurred_at)
SELECT e.id, e.id || ':main:call:completed', 'step_completed', 'main', 'call', '{}', now()
FROM enrollment e WHERE e.sequence_id = :sequence_id
"""
# Due over the next 30 days, so the list has its overdue, today and upcoming.
_TODOS = """
INSERT INTO task (id, contact_id, enrollment_id, workflow_id, step_id, kind, title,
                  instructions, assigned_to, due_at, allowed_results, status, notes, created_at)
SELECT gen_random_uuid(), e.contact_id, e.id, e.workflow_id, 'call', 'task', 'Call P',
       'Ask about the plan', :admin,
       now() + (row_number() OVER (ORDER BY e.id) % 720 - 24) * interval '1 hour', '["done"]',
       'open', '', now()
FROM enrollment e WHERE e.sequence_id = :sequence_id
"""


async def pages_with_enrollments(services: Services, count: int, requests: int) -> dict[str, Any]:
    sequence_id = await published(services.api, WAITING)
    async with transaction(services.sessionmaker) as session:
        admin = await web_sessions.user_with_email(session, "bench@example.com")
        assert admin is not None
        params = {"sequence_id": uuid.UUID(sequence_id), "admin": admin.id, "count": count}
        for statement in (_CONTACTS, _ENROLLMENTS, _COMPLETED, _TODOS):
            await session.execute(text(statement), params)
    await sent_offers(services.sessionmaker, sequence_id)
    async with services.sessionmaker() as session:
        await session.execute(text("ANALYZE"))
    health = [
        round(v * 1000, 1) for v in percentiles(await latencies(services, "/health", requests))
    ]
    pages = await page_latencies(services, sequence_id, requests)
    worst = max(p99 for _, p99 in pages.values())
    return {
        "name": f"the web app's pages with {count} enrollments, each with a to-do and an email",
        "unit": "ms",
        "baseline": {"health_ms_p50_p99": health},
        "project": {f"{name}_ms_p50_p99": timing for name, timing in pages.items()},
        "ratio": round(worst / health[1], 3) if health[1] else None,
        "target": "every page p99 <= 100 ms",
    }
