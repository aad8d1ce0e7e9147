"""The projection write: the enrollment's row and events in one statement, safe to repeat."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlmodel import col
from temporalio.testing import ActivityEnvironment

from activities.contracts import EnrollmentEventRecord, ProjectionBatch, ProjectionUpdate
from activities.projection import ProjectionActivities
from store.db import SessionMaker
from store.models import Enrollment, EnrollmentEvent
from tests.integration.helpers import new_contact, published_sequence, welcome_series

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _update(
    enrollment_id: str, sequence_id: str, contact_id: str, revision: int, kind: str, step: str
) -> ProjectionUpdate:
    return ProjectionUpdate(
        enrollment_id=enrollment_id,
        sequence_id=sequence_id,
        version=1,
        contact_id=contact_id,
        workflow_id=f"enrollment:{sequence_id}:{contact_id}",
        enrolled_by=None,
        revision=revision,
        status="active",
        current_step=step,
        failure_reason=None,
        ended_at=None,
        at=AT + timedelta(seconds=revision),
        event=EnrollmentEventRecord(
            effect_key=f"{enrollment_id}:event:{revision}",
            kind=kind,
            occurred_at=AT + timedelta(seconds=revision),
            step_id=step,
            detail={"n": revision},
        ),
    )


async def _stored(
    sessionmaker: SessionMaker, enrollment_id: str
) -> tuple[Enrollment | None, list[tuple[str, str | None, dict[str, int], datetime]]]:
    async with sessionmaker() as session:
        row = await session.get(Enrollment, uuid.UUID(enrollment_id))
        events = await session.scalars(
            select(EnrollmentEvent)
            .where(col(EnrollmentEvent.enrollment_id) == uuid.UUID(enrollment_id))
            .order_by(col(EnrollmentEvent.occurred_at))
        )
        return row, [(e.kind, e.step_id, e.detail, e.occurred_at) for e in events]


async def test_a_batch_writes_the_row_and_each_event_once_however_often_it_is_retried(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series())
    contact_id = await new_contact(admin)
    enrollment_id = str(uuid.uuid4())
    first = ProjectionBatch(
        updates=[
            _update(enrollment_id, sequence_id, contact_id, 1, "enrolled", "wait"),
            _update(enrollment_id, sequence_id, contact_id, 2, "step_completed", "wait"),
            _update(enrollment_id, sequence_id, contact_id, 3, "step_completed", "welcome"),
        ]
    )
    projection = ProjectionActivities(sessionmaker)
    env = ActivityEnvironment()
    # No row yet (the API writes its own after starting the workflow): one statement makes
    # both, and a retry of the same batch changes nothing.
    for _ in range(2):
        await env.run(projection.record_progress_batch, first)

    row, events = await _stored(sessionmaker, enrollment_id)
    assert row is not None and (row.revision, row.current_step) == (3, "welcome")
    assert events == [
        ("enrolled", "wait", {"n": 1}, AT + timedelta(seconds=1)),
        ("step_completed", "wait", {"n": 2}, AT + timedelta(seconds=2)),
        ("step_completed", "welcome", {"n": 3}, AT + timedelta(seconds=3)),
    ]


async def test_an_older_revision_adds_its_event_but_leaves_the_newer_row(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series())
    contact_id = await new_contact(admin)
    enrollment_id = str(uuid.uuid4())
    projection = ProjectionActivities(sessionmaker)
    env = ActivityEnvironment()
    newer = _update(enrollment_id, sequence_id, contact_id, 5, "step_completed", "tag")
    older = _update(enrollment_id, sequence_id, contact_id, 4, "message_held", "welcome")
    await env.run(projection.record_progress_batch, ProjectionBatch(updates=[newer]))
    await env.run(projection.record_progress_batch, ProjectionBatch(updates=[older]))

    row, events = await _stored(sessionmaker, enrollment_id)
    assert row is not None and (row.revision, row.current_step) == (5, "tag")
    assert [kind for kind, *_ in events] == ["message_held", "step_completed"]
