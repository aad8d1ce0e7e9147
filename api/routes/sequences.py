import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from api.deps import CurrentUser, Designer, SessionDep, TemporalDep
from api.errors import Invalid, NotFound, problems
from api.schemas.common import MAX_VERSION, Day, Limit, Offset, VersionPath
from api.schemas.sequences import (
    SequenceRead,
    SequenceReport,
    SequenceSummary,
    SequenceWrite,
    VersionRead,
    VersionSummary,
)
from api.schemas.users import ShareBody
from api.services import drafts, sharing
from api.services.migration import migrate_to_latest
from store import reports, sequences
from store.models import Sequence

router = APIRouter(
    prefix="/sequences", tags=["sequences"], responses=problems(401, 403, 404, 409, 422)
)


async def _sequence_or_404(
    session: SessionDep, sequence_id: uuid.UUID, *, for_update: bool = False
) -> Sequence:
    sequence = await sequences.get_sequence(session, sequence_id, for_update=for_update)
    if sequence is None:
        raise NotFound.of("sequence", sequence_id)
    return sequence


async def _read(session: SessionDep, sequence: Sequence) -> SequenceRead:
    versions = await sequences.versions_of(session, sequence.id)
    return SequenceRead.model_validate(
        {
            **sequence.model_dump(),
            "versions": [VersionSummary.model_validate(v, from_attributes=True) for v in versions],
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_sequence(body: SequenceWrite, session: SessionDep, user: Designer) -> SequenceRead:
    """Create a sequence as a draft."""
    return await _read(session, await drafts.create(session, body.name, body.definition, user))


@router.get("")
async def list_sequences(
    session: SessionDep, _: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> list[SequenceSummary]:
    """List sequences."""
    rows = await sequences.list_sequences(session, limit=limit, offset=offset)
    return [SequenceSummary.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{sequence_id}")
async def get_sequence(sequence_id: uuid.UUID, session: SessionDep, _: CurrentUser) -> SequenceRead:
    """One sequence with its draft and published versions."""
    return await _read(session, await _sequence_or_404(session, sequence_id))


@router.put("/{sequence_id}")
async def update_sequence(
    sequence_id: uuid.UUID, body: SequenceWrite, session: SessionDep, _: Designer
) -> SequenceRead:
    """Edit the draft; published versions and running enrollments are untouched."""
    sequence = await _sequence_or_404(session, sequence_id, for_update=True)
    await drafts.save_draft(session, sequence, body.name, body.definition)
    return await _read(session, sequence)


@router.post("/{sequence_id}/publish", status_code=status.HTTP_201_CREATED)
async def publish_sequence(
    sequence_id: uuid.UUID, session: SessionDep, user: Designer
) -> VersionRead:
    """Publish the draft as a new immutable version."""
    sequence = await _sequence_or_404(session, sequence_id, for_update=True)
    version = await drafts.publish(session, sequence, user)
    return VersionRead.model_validate(version, from_attributes=True)


@router.get("/{sequence_id}/versions/{version}")
async def get_version(
    sequence_id: uuid.UUID, version: VersionPath, session: SessionDep, _: CurrentUser
) -> VersionRead:
    """One published version, exactly as enrollments run it."""
    await _sequence_or_404(session, sequence_id)
    found = await sequences.get_version(session, sequence_id, version)
    if found is None:
        raise NotFound(f"sequence {sequence_id} has no version {version}")
    return VersionRead.model_validate(found, from_attributes=True)


@router.post("/{sequence_id}/migrate")
async def migrate_enrollments(
    sequence_id: uuid.UUID, session: SessionDep, temporal: TemporalDep, _: Designer
) -> dict[str, Any]:
    """Move running enrollments to the newest version, keeping their positions by step id."""
    sequence = await _sequence_or_404(session, sequence_id, for_update=True)
    return await migrate_to_latest(session, temporal, sequence)


@router.post("/{sequence_id}/archive")
async def archive_sequence(
    sequence_id: uuid.UUID, session: SessionDep, _: Designer
) -> SequenceRead:
    """Stop new enrollments; running ones go on. Publishing again reopens it."""
    sequence = await _sequence_or_404(session, sequence_id, for_update=True)
    await drafts.archive(session, sequence)
    return await _read(session, sequence)


@router.get("/{sequence_id}/report")
async def sequence_report(
    sequence_id: uuid.UUID,
    session: SessionDep,
    _: Designer,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="Only enrollments enrolled on this version."),
    ] = None,
    since: Annotated[
        Day | None, Query(description="Enrolled on or after this UTC day, e.g. 2026-01-31.")
    ] = None,
    until: Annotated[
        Day | None, Query(description="Enrolled on or before this UTC day, e.g. 2026-02-28.")
    ] = None,
) -> SequenceReport:
    """Enrollments by status and outcome; per step: reached, completed, messages, task results
    and what recipients did; for the enrollments of one version, of a range of days, or all."""
    await _sequence_or_404(session, sequence_id)
    if since and until and until < since:
        raise Invalid(
            f"until ({until}) comes before since ({since}): a range ends where it starts or later"
        )
    return SequenceReport.model_validate(
        await reports.sequence_report(
            session, sequence_id, version=version, since=since, until=until
        )
    )


@router.post("/{sequence_id}/shares", status_code=status.HTTP_201_CREATED)
async def share_sequence(
    sequence_id: uuid.UUID, body: ShareBody, session: SessionDep, _: Designer
) -> dict[str, str]:
    """Let a rep enroll contacts into this sequence."""
    await _sequence_or_404(session, sequence_id)
    await sharing.share(session, sequence_id, body.user_id)
    return {"sequence_id": str(sequence_id), "user_id": str(body.user_id)}


@router.get("/{sequence_id}/shares")
async def list_shares(
    sequence_id: uuid.UUID, session: SessionDep, _: Designer
) -> list[dict[str, str]]:
    """The users the sequence is shared with."""
    await _sequence_or_404(session, sequence_id)
    shared = await sequences.shared_with(session, sequence_id)
    return [{"sequence_id": str(sequence_id), "user_id": str(user_id)} for user_id in shared]


@router.delete("/{sequence_id}/shares/{user_id}")
async def unshare_sequence(
    sequence_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, _: Designer
) -> dict[str, str]:
    """Stop sharing the sequence with a user; their running enrollments go on."""
    await sharing.unshare(session, sequence_id, user_id)
    return {"sequence_id": str(sequence_id), "user_id": str(user_id)}
