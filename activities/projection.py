"""Writes the enrollment projection and event log that the API reads."""

import uuid
from typing import Any

from temporalio import activity

from activities.contracts import ProjectionBatch, ProjectionUpdate
from store import driver, enrollments
from store.db import SessionMaker


class ProjectionActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def record_progress_batch(self, batch: ProjectionBatch) -> None:
        """Several updates of one enrollment, in order, in one transaction; safe to retry."""
        if not batch.updates:
            return
        # Only the newest revision can win the row; every update's event is appended.
        latest = max(batch.updates, key=lambda update: update.revision)
        async with driver.autocommit(self._sessionmaker) as connection:
            await enrollments.write_projection(
                connection,
                enrollment=_row(latest),
                events=[u.event.model_dump(mode="json") for u in batch.updates if u.event],
            )


def _row(update: ProjectionUpdate) -> dict[str, Any]:
    return {
        "id": uuid.UUID(update.enrollment_id),
        "sequence_id": uuid.UUID(update.sequence_id),
        "version": update.version,
        "enrolled_version": update.version,
        "contact_id": uuid.UUID(update.contact_id),
        "workflow_id": update.workflow_id,
        "enrolled_by": uuid.UUID(update.enrolled_by) if update.enrolled_by else None,
        "status": update.status,
        "current_step": update.current_step,
        "event_date": None,
        "outcome": update.outcome,
        "failure_reason": update.failure_reason,
        "revision": update.revision,
        "created_at": update.at,
        "updated_at": update.at,
        "ended_at": update.ended_at,
        "next_due_at": update.next_due_at,
    }
