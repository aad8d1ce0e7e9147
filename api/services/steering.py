"""Steering enrollments one by one or many at once (stop, reactivate, remove): who may, and
what each answers. The API's routes and the web app's pages both go through these."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import DomainError, Forbidden
from api.roles import OPERATORS, check_role
from api.services import enrollments as service
from api.services import removal
from store.models import Enrollment, Role, User
from workflows.state import OpenTasks, StopRequest

# Most enrollments steered in one request.
MAX_BULK = 1000
RETRIED = "the failed step runs again now"


async def enrollment_to_steer(
    session: AsyncSession, user: User, enrollment_id: uuid.UUID
) -> Enrollment:
    """The enrollment, if the user may control it: reps only the ones they started."""
    enrollment = await service.get_or_404(session, enrollment_id)
    if user.role == Role.rep and enrollment.enrolled_by != user.id:
        raise Forbidden(f"enrollment {enrollment_id} was started by someone else")
    return enrollment


def stop_request(user: User, reason: str, open_tasks: OpenTasks) -> StopRequest:
    """A rep's stop closes only the rep's own to-dos, as the rep may act on no others."""
    return StopRequest(
        reason=reason,
        open_tasks=open_tasks,
        stopped_by=str(user.id),
        only_assigned_to=str(user.id) if user.role == Role.rep else None,
    )


@dataclass(frozen=True)
class Answer:
    enrollment_id: uuid.UUID
    status_code: int
    detail: str


async def each(
    ids: list[uuid.UUID], act: Callable[[uuid.UUID], Awaitable[None]], done: str
) -> list[Answer]:
    """Act on each enrollment once; each gets the answer its own call would have had."""
    answers = []
    for enrollment_id in dict.fromkeys(ids):
        try:
            await act(enrollment_id)
        except DomainError as error:
            answers.append(Answer(enrollment_id, error.status_code, error.message))
        else:
            answers.append(Answer(enrollment_id, 202, done))
    return answers


async def stop_each(
    session: AsyncSession,
    temporal: Client,
    user: User,
    ids: list[uuid.UUID],
    *,
    reason: str,
    open_tasks: OpenTasks,
) -> list[Answer]:
    request = stop_request(user, reason, open_tasks)

    async def stop_one(enrollment_id: uuid.UUID) -> None:
        await service.stop(
            temporal, await enrollment_to_steer(session, user, enrollment_id), request
        )

    return await each(ids, stop_one, "the enrollment stops now")


async def reactivate_each(
    session: AsyncSession, temporal: Client, user: User, ids: list[uuid.UUID]
) -> list[Answer]:
    async def reactivate_one(enrollment_id: uuid.UUID) -> None:
        enrollment = await enrollment_to_steer(session, user, enrollment_id)
        await service.signal(temporal, enrollment, "reactivate")

    return await each(ids, reactivate_one, "the enrollment resumes now")


async def retry(
    session: AsyncSession, temporal: Client, user: User, enrollment_id: uuid.UUID
) -> Enrollment:
    """Run a failed enrollment's failed step again."""
    enrollment = await enrollment_to_steer(session, user, enrollment_id)
    await service.signal(temporal, enrollment, "retry")
    return enrollment


async def retry_each(
    session: AsyncSession, temporal: Client, user: User, ids: list[uuid.UUID]
) -> list[Answer]:
    async def retry_one(enrollment_id: uuid.UUID) -> None:
        await retry(session, temporal, user, enrollment_id)

    return await each(ids, retry_one, RETRIED)


async def remove_each(
    session: AsyncSession, temporal: Client, task_queue: str, user: User, ids: list[uuid.UUID]
) -> list[Answer]:
    """Remove each for good (people in charge and integrations only)."""
    check_role(user, OPERATORS)

    async def remove_one(enrollment_id: uuid.UUID) -> None:
        enrollment = await service.get_or_404(session, enrollment_id)
        await removal.remove_enrollment(temporal, task_queue, enrollment)

    return await each(ids, remove_one, "removed")
