import uuid

from fastapi import APIRouter, Response, status

from api.deps import (
    CurrentUser,
    Operator,
    SessionDep,
    SettingsDep,
    TemporalDep,
)
from api.errors import Conflict, Invalid, NotFound, problems
from api.schemas.common import Limit, Offset
from api.schemas.enrollments import (
    MAX_BULK,
    Accepted,
    BulkControl,
    BulkEnrollResponse,
    BulkResponse,
    BulkResult,
    BulkStop,
    EnrollmentDetail,
    EnrollmentEventRead,
    EnrollmentRead,
    EnrollOutcome,
    EnrollRequest,
    Removed,
    StopBody,
)
from api.services import enrollments as service
from api.services import removal, steering
from store import contacts, enrollments
from store.models import EnrollmentStatus

router = APIRouter(tags=["enrollments"], responses=problems(401, 403, 404, 409, 422))


@router.post(
    "/sequences/{sequence_id}/enrollments",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": BulkEnrollResponse, "description": "Results per contact"}},
)
async def enroll(
    sequence_id: uuid.UUID,
    body: EnrollRequest,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CurrentUser,
    response: Response,
) -> EnrollmentRead | BulkEnrollResponse:
    """Enroll one contact (201), or a list or a filter's matches with a result each (200)."""
    sequence = await service.sequence_to_enroll_into(session, user, sequence_id)
    if body.filter is not None:
        contact_ids = await contacts.matching_ids(
            session, **body.filter.model_dump(), limit=MAX_BULK + 1
        )
        if len(contact_ids) > MAX_BULK:
            raise Invalid(f"filter: matches more than {MAX_BULK} contacts; narrow it")
    else:
        contact_ids = body.contact_ids or [body.contact_id]  # type: ignore[list-item]
    results = await service.enroll(
        session,
        temporal,
        settings.temporal_task_queue,
        sequence,
        contact_ids,
        user,
        body.event_date,
    )
    if body.contact_id is None:
        response.status_code = status.HTTP_200_OK
        return BulkEnrollResponse(results=results)
    result = results[0]
    if result.outcome == EnrollOutcome.not_found:
        raise NotFound.of("contact", result.contact_id)
    if result.outcome == EnrollOutcome.do_not_contact:
        raise Conflict(
            f"contact {result.contact_id} opted out of every channel sequence {sequence_id} uses"
        )
    if result.outcome == EnrollOutcome.reentry_not_allowed:
        raise Conflict(
            f"contact {result.contact_id} has already been through sequence {sequence_id}, "
            "which does not allow re-entry"
        )
    if result.outcome == EnrollOutcome.already_enrolled:
        raise Conflict(
            f"contact {result.contact_id} is already enrolled in sequence {sequence_id}",
            enrollment_id=str(result.enrollment_id) if result.enrollment_id else None,
        )
    assert result.enrollment_id is not None
    await session.flush()
    return EnrollmentRead.model_validate(
        await service.get_or_404(session, result.enrollment_id), from_attributes=True
    )


@router.get("/sequences/{sequence_id}/enrollments")
async def list_sequence_enrollments(
    sequence_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    status_filter: EnrollmentStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[EnrollmentRead]:
    """The sequence's enrollments, newest first, optionally by status."""
    await service.sequence_to_enroll_into(session, user, sequence_id)
    rows = await enrollments.list_enrollments(
        session, sequence_id=sequence_id, status=status_filter, limit=limit, offset=offset
    )
    return [EnrollmentRead.model_validate(row, from_attributes=True) for row in rows]


@router.get("/enrollments/{enrollment_id}")
async def get_enrollment(
    enrollment_id: uuid.UUID, session: SessionDep, _: CurrentUser
) -> EnrollmentDetail:
    """One enrollment with its history."""
    enrollment = await service.get_or_404(session, enrollment_id)
    events = await enrollments.events_of(session, enrollment_id)
    return EnrollmentDetail.model_validate(
        {
            **enrollment.model_dump(),
            "events": [EnrollmentEventRead.model_validate(e, from_attributes=True) for e in events],
        }
    )


@router.post("/enrollments/{enrollment_id}/stop", status_code=status.HTTP_202_ACCEPTED)
async def stop_enrollment(
    enrollment_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    user: CurrentUser,
    body: StopBody | None = None,
) -> Accepted:
    """Stop: no further actions until reactivated."""
    body = body or StopBody()
    enrollment = await steering.enrollment_to_steer(session, user, enrollment_id)
    await service.stop(
        temporal, enrollment, steering.stop_request(user, body.reason, body.open_tasks)
    )
    return Accepted(
        enrollment_id=enrollment.id, requested="stop", detail="the enrollment stops now"
    )


@router.post("/enrollments/{enrollment_id}/reactivate", status_code=status.HTTP_202_ACCEPTED)
async def reactivate_enrollment(
    enrollment_id: uuid.UUID, session: SessionDep, temporal: TemporalDep, user: CurrentUser
) -> Accepted:
    """Resume a stopped enrollment where it stopped; timers that came due meanwhile fire now."""
    enrollment = await steering.enrollment_to_steer(session, user, enrollment_id)
    await service.signal(temporal, enrollment, "reactivate")
    return Accepted(
        enrollment_id=enrollment.id, requested="reactivate", detail="the enrollment resumes now"
    )


@router.post("/enrollments/{enrollment_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_enrollment(
    enrollment_id: uuid.UUID, session: SessionDep, temporal: TemporalDep, user: CurrentUser
) -> Accepted:
    """Run a failed enrollment's failed step again."""
    enrollment = await steering.retry(session, temporal, user, enrollment_id)
    return Accepted(enrollment_id=enrollment.id, requested="retry", detail=steering.RETRIED)


@router.delete("/enrollments/{enrollment_id}")
async def remove_enrollment(
    enrollment_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    _: Operator,
) -> Removed:
    """Remove an enrollment for good: its runs, its history and its records. Not reversible."""
    enrollment = await service.get_or_404(session, enrollment_id)
    runs = await removal.remove_enrollment(temporal, settings.temporal_task_queue, enrollment)
    return Removed(enrollment_id=enrollment.id, workflow_runs_deleted=runs)


def _bulk(answers: list[steering.Answer]) -> BulkResponse:
    return BulkResponse(
        results=[
            BulkResult(enrollment_id=a.enrollment_id, status_code=a.status_code, detail=a.detail)
            for a in answers
        ]
    )


@router.post("/enrollments/stop")
async def stop_many(
    body: BulkStop, session: SessionDep, temporal: TemporalDep, user: CurrentUser
) -> BulkResponse:
    """Stop many enrollments; each gets the answer its own stop would have had."""
    return _bulk(
        await steering.stop_each(
            session,
            temporal,
            user,
            body.enrollment_ids,
            reason=body.reason,
            open_tasks=body.open_tasks,
        )
    )


@router.post("/enrollments/reactivate")
async def reactivate_many(
    body: BulkControl, session: SessionDep, temporal: TemporalDep, user: CurrentUser
) -> BulkResponse:
    """Reactivate many stopped enrollments; each gets the answer its own would have had."""
    return _bulk(await steering.reactivate_each(session, temporal, user, body.enrollment_ids))


@router.post("/enrollments/retry")
async def retry_many(
    body: BulkControl, session: SessionDep, temporal: TemporalDep, user: CurrentUser
) -> BulkResponse:
    """Run many failed enrollments' failed steps again; each gets its own answer."""
    return _bulk(await steering.retry_each(session, temporal, user, body.enrollment_ids))


@router.post("/enrollments/remove")
async def remove_many(
    body: BulkControl,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: Operator,
) -> BulkResponse:
    """Remove many enrollments for good; each gets the answer its own removal would have had."""
    return _bulk(
        await steering.remove_each(
            session, temporal, settings.temporal_task_queue, user, body.enrollment_ids
        )
    )
