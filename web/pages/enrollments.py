"""A sequence's enrolled contacts, newest first, and steering many of them at once."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import Invalid
from api.services import steering
from store import contacts, enrollments
from store.models import EnrollmentStatus
from web.auth import DesignerForm, DesignerPage
from web.pages.sequences import sequence_or_404
from web.templating import PageRoute, page
from workflows.state import OpenTasks

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
PAGE = 50


@router.get("/sequences/{sequence_id}/enrollments")
async def enrollments_page(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    signed: DesignerPage,
    status: Annotated[EnrollmentStatus | None, Query()] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    sequence = await sequence_or_404(session, sequence_id)
    rows = await enrollments.list_enrollments(
        session,
        sequence_id=sequence.id,
        status=status,
        limit=PAGE + 1,
        offset=(page_number - 1) * PAGE,
    )
    people = await contacts.contacts_by_id(session, [row.contact_id for row in rows])
    return page(
        request,
        "enrollments.html",
        signed=signed,
        sequence=sequence,
        rows=[(row, people.get(row.contact_id)) for row in rows[:PAGE]],
        only=status,
        statuses=[s.value for s in EnrollmentStatus],
        page_number=page_number,
        more=len(rows) > PAGE,
        dispositions=[d.value for d in OpenTasks],
    )


@router.post("/sequences/{sequence_id}/enrollments")
async def steer(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signed: DesignerForm,
    action: Annotated[Literal["stop", "reactivate", "retry", "remove"], Form()],
    enrollment_id: Annotated[list[uuid.UUID], Form(max_length=steering.MAX_BULK)],
    open_tasks: Annotated[OpenTasks, Form()] = OpenTasks.leave_open,
    reason: Annotated[str, Form(max_length=500)] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    sequence = await sequence_or_404(session, sequence_id)
    user = signed.user
    if action == "stop":
        answers = await steering.stop_each(
            session, temporal, user, enrollment_id, reason=reason, open_tasks=open_tasks
        )
    elif action == "reactivate":
        answers = await steering.reactivate_each(session, temporal, user, enrollment_id)
    elif action == "retry":
        answers = await steering.retry_each(session, temporal, user, enrollment_id)
    else:
        if not confirmed:
            raise Invalid("removing is for good: tick that you mean it, and send again")
        answers = await steering.remove_each(
            session, temporal, settings.temporal_task_queue, user, enrollment_id
        )
    return page(
        request, "steered.html", signed=signed, sequence=sequence, action=action, answers=answers
    )
