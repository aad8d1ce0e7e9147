"""Writing sequences: a definition is checked whole before it is kept, and a draft is published
only when it says something new. The API's routes and the designers' canvas both go through
these."""

import uuid
from collections.abc import Iterator
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, Invalid
from sequences import DefinitionError, parse_definition, step_where
from store import custom_fields, sequences, users
from store.models import Sequence, SequenceStatus, SequenceVersion, User, utcnow


async def problems_of(
    session: AsyncSession, definition: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The definition as it is kept (parsed and dumped), or None and each problem with where it
    is: against the declared custom fields and the users it names too."""
    try:
        # In a thread: a large definition's templates take a while to check, and the event
        # loop must go on answering other requests meanwhile.
        types = await custom_fields.field_types(session)
        parsed = await run_in_threadpool(parse_definition, definition, types)
    except DefinitionError as error:
        return None, error.errors
    dumped = parsed.model_dump(mode="json")
    named = list(_users_named(dumped))
    unknown = await users.unknown_user_ids(session, {user_id for *_, user_id in named})
    problems = [
        {"where": where, "field": field, "message": f"there is no user {user_id}"}
        for where, field, user_id in named
        if user_id in unknown
    ]
    return (None, problems) if problems else (dumped, [])


async def validated(session: AsyncSession, definition: Any) -> dict[str, Any]:
    """The definition as it is kept, or Invalid naming each problem."""
    dumped, problems = await problems_of(session, definition)
    if dumped is None:
        raise Invalid(f"invalid sequence: {DefinitionError(problems)}", errors=problems)
    return dumped


def _users_named(definition: dict[str, Any]) -> Iterator[tuple[str, str, uuid.UUID]]:
    """Every user the steps name (assignees, notified users, round-robin owners), with where."""
    for t, track in enumerate(definition["tracks"]):
        for s, step in enumerate(track["steps"]):
            where = step_where(step["id"], t, s)
            for field, user_id in _user_ids(step, ""):
                yield where, field, user_id


def _user_ids(node: Any, path: str) -> Iterator[tuple[str, uuid.UUID]]:
    if isinstance(node, dict):
        for key, value in node.items():
            field = f"{path}{key}"
            if key == "user_id" and value:
                yield field, uuid.UUID(value)
            elif key == "round_robin":
                yield from ((f"{field}.{i}", uuid.UUID(v)) for i, v in enumerate(value))
            else:
                yield from _user_ids(value, f"{field}.")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _user_ids(item, f"{path}{index}.")


async def create(session: AsyncSession, name: str, definition: Any, user: User) -> Sequence:
    sequence = Sequence(
        name=name, definition=await validated(session, definition), created_by=user.id
    )
    session.add(sequence)
    await session.flush()
    return sequence


async def save_draft(session: AsyncSession, sequence: Sequence, name: str, definition: Any) -> None:
    """Replace the draft; published versions and running enrollments are untouched. The caller
    holds the sequence's row lock."""
    sequence.definition = await validated(session, definition)
    sequence.name = name
    sequence.updated_at = utcnow()
    await session.flush()


async def publish(session: AsyncSession, sequence: Sequence, user: User) -> SequenceVersion:
    """The draft as a new immutable version; refused when it is the newest version already.
    The caller holds the sequence's row lock."""
    if sequence.latest_version is not None:
        latest = await sequences.get_version(session, sequence.id, sequence.latest_version)
        if latest is not None and latest.definition == sequence.definition:
            raise Conflict(
                f"the draft has not changed since version {latest.version}; edit it first"
            )
    return await sequences.publish(session, sequence, user.id)


async def archive(session: AsyncSession, sequence: Sequence) -> None:
    """Stop new enrollments; running ones go on, and publishing again reopens it. The caller
    holds the sequence's row lock."""
    if sequence.status == SequenceStatus.archived:
        raise Conflict(f"sequence {sequence.id} is already archived")
    sequence.status = SequenceStatus.archived
    sequence.updated_at = utcnow()
    await session.flush()
