"""Designers' and managers' view of sequences: the list, and each drawn with its live counts."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator, Field

from api.deps import SessionDep, TemporalDep
from api.errors import Invalid, NotFound
from api.schemas.common import MAX_VERSION
from api.services.migration import migrate_to_latest, plan_migration
from sequences import DefinitionError, SequenceDefinition, parse_definition
from store import reports, sequences
from store.models import Sequence
from web.auth import DesignerForm, DesignerPage
from web.diagram import draw
from web.diff import changes
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
SHOWN = 500
# A filter form sends the fields left empty too.
EMPTY_IS_NONE = BeforeValidator(lambda value: None if value == "" else value)
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]


async def sequence_or_404(
    session: SessionDep, sequence_id: uuid.UUID, *, for_update: bool = False
) -> Sequence:
    sequence = await sequences.get_sequence(session, sequence_id, for_update=for_update)
    if sequence is None:
        raise NotFound.of("sequence", sequence_id)
    return sequence


async def shown_definition(
    session: SessionDep, sequence: Sequence
) -> tuple[SequenceDefinition | None, str]:
    """The newest published version, else the draft; and what it is."""
    raw, what = sequence.definition, "draft"
    if sequence.latest_version is not None:
        version = await sequences.get_version(session, sequence.id, sequence.latest_version)
        assert version is not None
        raw, what = version.definition, f"version {version.version}"
    try:
        return parse_definition(raw), what
    except DefinitionError:
        return None, what


@router.get("/sequences")
async def sequences_page(request: Request, session: SessionDep, signed: DesignerPage) -> Response:
    found = await sequences.list_sequences(session, limit=SHOWN, offset=0)
    return page(request, "sequences.html", signed=signed, sequences=found)


def _charts(definition: SequenceDefinition | None, report: dict[str, Any]) -> dict[str, Any]:
    """The report as bars: outcomes, each step reached (in track order), each to-do's results."""
    steps = [step for track in definition.tracks for step in track.steps] if definition else []
    counted = report["steps"]
    return {
        "outcomes": [(name, count) for name, count in report["outcomes"].items()],
        "statuses": [(s, report[s]) for s in ("active", "completed", "stopped", "failed")],
        "funnel": [(s.id, counted[s.id]["reached"]) for s in steps if s.id in counted],
        "results": [
            (s.id, sorted(counted[s.id]["task_results"].items()))
            for s in steps
            if s.id in counted and counted[s.id]["task_results"]
        ],
    }


@router.get("/sequences/{sequence_id}")
async def sequence_page(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    signed: DesignerPage,
    version: Annotated[Version | None, EMPTY_IS_NONE, Query()] = None,
    since: Annotated[date | None, EMPTY_IS_NONE, Query()] = None,
    until: Annotated[date | None, EMPTY_IS_NONE, Query()] = None,
) -> Response:
    sequence = await sequence_or_404(session, sequence_id)
    if since and until and until < since:
        raise Invalid(f"until ({until}) comes before since ({since})")
    definition, shown = await shown_definition(session, sequence)
    report = await reports.sequence_report(
        session, sequence.id, version=version, since=since, until=until
    )
    return page(
        request,
        "sequence.html",
        signed=signed,
        sequence=sequence,
        shown=shown,
        report=report,
        diagram=draw(definition, report) if definition else None,
        charts=_charts(definition, report),
        scope={"version": version, "since": since, "until": until},
        versions=range(1, (sequence.latest_version or 0) + 1),
    )


@router.get("/sequences/{sequence_id}/versions")
async def versions_page(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    signed: DesignerPage,
    before: Annotated[Version | None, EMPTY_IS_NONE, Query(alias="from")] = None,
    after: Annotated[Version | None, EMPTY_IS_NONE, Query(alias="to")] = None,
) -> Response:
    """The published versions; what changed from one to another (by default, the newest from
    the one before it); and what the draft changes from the newest."""
    sequence = await sequence_or_404(session, sequence_id)
    versions = {v.version: v for v in await sequences.versions_of(session, sequence.id)}
    for asked in (before, after):
        if asked is not None and asked not in versions:
            raise NotFound(f"sequence {sequence_id} has no version {asked}")
    newest = sequence.latest_version
    after = after or newest
    before = before or (after - 1 if after else None)
    compared = (
        changes(versions[before].definition, versions[after].definition)
        if before in versions and after in versions
        else None
    )
    return page(
        request,
        "versions.html",
        signed=signed,
        sequence=sequence,
        versions=sorted(versions.values(), key=lambda v: -v.version),
        before=before,
        after=after,
        compared=compared,
        draft=changes(versions[newest].definition, sequence.definition) if newest else None,
    )


@router.get("/sequences/{sequence_id}/migrate")
async def migrate_page(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    signed: DesignerPage,
) -> Response:
    """What moving the running enrollments to the newest version would do, before doing it."""
    sequence = await sequence_or_404(session, sequence_id)
    plan = await plan_migration(session, temporal, sequence)
    return page(request, "migrate.html", signed=signed, sequence=sequence, plan=plan)


@router.post("/sequences/{sequence_id}/migrate")
async def migrate(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    signed: DesignerForm,
) -> Response:
    sequence = await sequence_or_404(session, sequence_id, for_update=True)
    done = await migrate_to_latest(session, temporal, sequence)
    return page(request, "migrated.html", signed=signed, sequence=sequence, done=done)
