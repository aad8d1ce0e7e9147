"""Designers' and managers' view of sequences: the list, and each drawn with its live counts."""

import uuid

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep
from api.errors import NotFound
from sequences import DefinitionError, SequenceDefinition, parse_definition
from store import reports, sequences
from store.models import Sequence
from web.auth import DesignerPage
from web.diagram import draw
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
SHOWN = 500


async def _shown_definition(
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


@router.get("/sequences/{sequence_id}")
async def sequence_page(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, signed: DesignerPage
) -> Response:
    sequence = await sequences.get_sequence(session, sequence_id)
    if sequence is None:
        raise NotFound.of("sequence", sequence_id)
    definition, shown = await _shown_definition(session, sequence)
    report = await reports.sequence_report(session, sequence.id)
    return page(
        request,
        "sequence.html",
        signed=signed,
        sequence=sequence,
        shown=shown,
        report=report,
        diagram=draw(definition, report) if definition else None,
    )
