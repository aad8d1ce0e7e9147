"""Moving running enrollments to a sequence's newest version."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError

from api.errors import Conflict
from sequences import parse_definition
from store import enrollments, sequences
from store.models import Enrollment, Sequence
from workflows.enrollment import EnrollmentWorkflow
from workflows.state import MigrateRequest, missing_positions

# Queries and updates in flight at once while migrating a large sequence.
CONCURRENCY = 16


@dataclass(frozen=True)
class Plan:
    """What migrating to the newest version would do: the running enrollments on older ones,
    and those of them standing on steps the newest lacks (which block it)."""

    request: MigrateRequest
    older: list[Enrollment]
    blocked: list[dict[str, Any]]


async def plan_migration(session: AsyncSession, temporal: Client, sequence: Sequence) -> Plan:
    if sequence.latest_version is None:
        raise Conflict(f"sequence {sequence.id} has no published version to migrate to")
    version = await sequences.get_version(session, sequence.id, sequence.latest_version)
    assert version is not None
    request = MigrateRequest(
        version=version.version, definition=parse_definition(version.definition)
    )
    older = [
        e
        for e in await enrollments.running_in_sequence(session, sequence.id)
        if e.version < version.version
    ]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def blockers(workflow_id: str, enrollment_id: uuid.UUID) -> dict[str, Any] | None:
        async with gate:
            handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)
            state = await handle.query(EnrollmentWorkflow.state)
        missing = missing_positions(state, request.definition)
        return {"enrollment_id": str(enrollment_id), "positions": missing} if missing else None

    found = await asyncio.gather(*(blockers(e.workflow_id, e.id) for e in older))
    return Plan(request, older, [b for b in found if b is not None])


async def migrate_to_latest(
    session: AsyncSession, temporal: Client, sequence: Sequence
) -> dict[str, Any]:
    """Move every running enrollment on an older version to the latest one, or none of them.

    All-or-nothing, so a sequence never ends up split by a half-done migration: when some
    enrollment stands on a step the new version lacks, nothing moves and the 409 lists them.
    """
    plan = await plan_migration(session, temporal, sequence)
    request, older = plan.request, plan.older
    if plan.blocked:
        raise Conflict(
            f"{len(plan.blocked)} enrollment(s) stand on steps that version {request.version} "
            "no longer has; nothing was migrated",
            blocked=plan.blocked,
        )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def move(workflow_id: str, enrollment_id: uuid.UUID) -> dict[str, str] | None:
        async with gate:
            handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)
            try:
                await handle.execute_update(EnrollmentWorkflow.migrate, request)
            except WorkflowUpdateFailedError as error:
                # It moved on or finished since it was checked; say so rather than hide it.
                reason = str(error.cause or error)
                return {"enrollment_id": str(enrollment_id), "reason": reason}
        return None

    refused = [
        r
        for r in await asyncio.gather(*(move(e.workflow_id, e.id) for e in older))
        if r is not None
    ]
    return {
        "version": request.version,
        "migrated": len(older) - len(refused),
        "not_migrated": refused,
    }
