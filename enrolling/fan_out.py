"""What the contact did reaches its running enrollments and the sequences whose goals it meets."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from enrolling.starts import EnrollOutcome, may_enroll_into, start_enrollments
from sequences import EventMatch, EventType, parse_definition
from store import enrollments, messages, sequences, users
from store.models import Message, User
from workflows.state import CONTACT_EVENT, ContactEventSignal, step_of


async def fan_out(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    contact_id: uuid.UUID,
    event: str,
    name: str | None,
    *,
    enroll_as: uuid.UUID | None,
    skip: str | None = None,
    message_id: str | None = None,
    url: str | None = None,
) -> tuple[int, list[uuid.UUID]]:
    """Signal the contact's running enrollments (but the workflow `skip`), then enroll it where
    a goal matches.

    Returns how many enrollments were told and the ids of enrollments the goals started.
    Goals enroll on behalf of the user `enroll_as`; without one, only running enrollments are
    told. An event about a message (`message_id`) tells them which enrollment's step sent it.
    """
    signal = ContactEventSignal(event=event, name=name, url=url[:URL_KEPT] if url else None)
    message = await _message(session, message_id)
    if message is not None and message.enrollment_id is not None:
        signal.message_enrollment_id = str(message.enrollment_id)
        signal.message_step_id = step_of(message.effect_key)
    running, any_goal = await enrollments.hearers(
        session, contact_id, goals_on=event if enroll_as is not None else None
    )
    told = await tell(temporal, running, signal, skip=skip)
    if event == EventType.replied:
        colleagues = ContactEventSignal(event=event, name=name, colleague=True)
        for workflow_id in await enrollments.running_workflows_of_colleagues(session, contact_id):
            if await signal_workflow(temporal, workflow_id, CONTACT_EVENT, colleagues):
                told += 1

    started: list[uuid.UUID] = []
    if enroll_as is None or not any_goal:
        return told, started
    user: User | None = None
    for sequence, version in await sequences.published_with_goal(session, event):
        # The goals alone first: most published sequences' goals are not met by this event,
        # and validating a whole definition costs far more than reading its goals.
        goals = [EventMatch.model_validate(g) for g in version.definition["settings"]["goals"]]
        if not any(goal.matches(event, name) for goal in goals):
            continue
        definition = parse_definition(version.definition)
        # Event timers count from a date given at enrollment, which an event does not carry.
        if definition.uses_event_date():
            continue
        user = user or await users.get_user(session, enroll_as)
        if user is None:
            break
        # As the user's own enrollment would be: a rep's event enrolls only where shared.
        if not await may_enroll_into(session, user, sequence.id):
            continue
        [result] = await start_enrollments(
            session,
            temporal,
            task_queue,
            sequence,
            version.version,
            definition,
            [contact_id],
            user.id,
        )
        if result.outcome == EnrollOutcome.enrolled and result.enrollment_id:
            started.append(result.enrollment_id)
    return told, started


async def tell(
    temporal: Client, running: list[str], signal: ContactEventSignal, *, skip: str | None
) -> int:
    """Signal the running workflows but `skip`; how many heard it."""
    told = 0
    for workflow_id in running:
        if workflow_id != skip and await signal_workflow(
            temporal, workflow_id, CONTACT_EVENT, signal
        ):
            told += 1
    return told


# Enough of a URL for a match on its path, without letting one event swell the run's state.
URL_KEPT = 2000


async def _message(session: AsyncSession, message_id: str | None) -> Message | None:
    try:
        return await messages.get_message(session, uuid.UUID(message_id)) if message_id else None
    except ValueError:  # an id a client put in an event's data that is no message's
        return None


async def signal_workflow(temporal: Client, workflow_id: str, name: str, *args: object) -> bool:
    """Signal an enrollment's running workflow; False when it has already finished."""
    try:
        await temporal.get_workflow_handle(workflow_id).signal(name, *args)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
