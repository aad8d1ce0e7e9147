"""Writes the enrollment projection and event log that the API reads."""

import uuid

from temporalio import activity

from activities.contracts import ProjectionUpdate
from store import enrollments
from store.db import SessionMaker, transaction
from store.models import Enrollment, EnrollmentEvent, EnrollmentStatus


class ProjectionActivities:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def record_progress(self, update: ProjectionUpdate) -> None:
        """Upsert the enrollment row and append its event; safe to retry."""
        enrollment_id = uuid.UUID(update.enrollment_id)
        event = update.event
        async with transaction(self._sessionmaker) as session:
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
