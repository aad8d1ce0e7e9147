"""Writes the enrollment projection and event log that the API reads."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import ProjectionBatch, ProjectionUpdate
from store import enrollments
from store.db import SessionMaker, transaction
from store.models import Enrollment, EnrollmentEvent, EnrollmentStatus


class ProjectionActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def record_progress(self, update: ProjectionUpdate) -> None:
        """Upsert the enrollment row and append its event; safe to retry."""
        async with transaction(self._sessionmaker) as session:
            await _write(session, update)

    @activity.defn
    async def record_progress_batch(self, batch: ProjectionBatch) -> None:
        """Several updates in order, in one transaction; safe to retry."""
        async with transaction(self._sessionmaker) as session:
            for update in batch.updates:
                await _write(session, update)


async def _write(session: AsyncSession, update: ProjectionUpdate) -> None:
    enrollment_id = uuid.UUID(update.enrollment_id)
    event = update.event
    await enrollments.write_projection(
        session,
        enrollment=Enrollment(
            id=enrollment_id,
            sequence_id=uuid.UUID(update.sequence_id),
            version=update.version,
            contact_id=uuid.UUID(update.contact_id),
            workflow_id=update.workflow_id,
            enrolled_by=uuid.UUID(update.enrolled_by) if update.enrolled_by else None,
            status=EnrollmentStatus(update.status),
            current_step=update.current_step,
            outcome=update.outcome,
            failure_reason=update.failure_reason,
            revision=update.revision,
            updated_at=event.occurred_at,
            ended_at=update.ended_at,
        ),
        event=EnrollmentEvent(
            enrollment_id=enrollment_id,
            effect_key=event.effect_key,
            kind=event.kind,
            track_id=event.track_id,
            step_id=event.step_id,
            detail=event.detail,
            occurred_at=event.occurred_at,
        ),
    )
