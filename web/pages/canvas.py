"""The designers' canvas: a new sequence, and its draft edited step by step. The page keeps the
draft being edited and sends it with every change; the server applies the change, checks the
whole draft as the API does and draws it again. Saving keeps it only when it is valid, as the
API's PUT does; until then, the page warns before it is left."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep
from api.errors import Conflict, DomainError, Invalid
from api.services import drafts
from sequences import FAMILIES
from sequences.models import kind_of
from store.models import Sequence, User
from web import canvas_edits as edits
from web.auth import DesignerForm, DesignerPage, Signed
from web.canvas import Panel, apply_panel, drawn, panel, where_in
from web.pages.sequences import sequence_or_404
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
PALETTE = [(family, [kind_of(step) for step in steps]) for family, steps in FAMILIES.items()]
# Where a new sequence starts: one track, waiting a day.
STARTER = {
    "tracks": [
        {
            "id": "track-1",
            "name": "",
            "steps": [{"id": "delay-1", "kind": "delay", "duration": "P1D"}],
        }
    ]
}
Short = Annotated[str, Form(max_length=200)]
Name = Annotated[str, Form(min_length=1, max_length=200)]
Position = Annotated[int, Form(ge=0, le=1000)]


@router.get("/sequences/new")
async def new_sequence_page(request: Request, signed: DesignerPage) -> Response:
    return page(request, "new_sequence.html", signed=signed)


@router.post("/sequences/new")
async def new_sequence(
    request: Request, session: SessionDep, signed: DesignerForm, name: Name
) -> Response:
    sequence = await drafts.create(session, name.strip(), STARTER, signed.user)
    return RedirectResponse(f"/app/sequences/{sequence.id}/edit", status_code=303)


@dataclass(frozen=True)
class Saved:
    """The sequence as it was last saved, read before anything of the request could fail."""

    id: uuid.UUID
    name: str
    definition: dict[str, Any]
    base: str
    latest_version: int | None

    @classmethod
    def of(cls, sequence: Sequence) -> "Saved":
        return cls(
            sequence.id,
            sequence.name,
            sequence.definition,
            sequence.updated_at.isoformat(),
            sequence.latest_version,
        )


@dataclass
class Canvas:
    """Everything the canvas shows after a change."""

    sequence: Saved
    name: str
    definition: dict[str, Any]
    problems: list[dict[str, Any]]
    selected: str
    panel: Panel | None
    message: str = ""

    @property
    def unsaved(self) -> bool:
        return self.definition != self.sequence.definition or self.name != self.sequence.name


async def _canvas(
    session: AsyncSession,
    sequence: Saved,
    name: str,
    definition: dict[str, Any],
    selected: str,
    unread: list[tuple[str, str]],
    message: str = "",
) -> Canvas:
    _, problems = await drafts.problems_of(session, definition)
    return Canvas(
        sequence,
        name,
        definition,
        problems,
        selected,
        panel(definition, selected, problems, unread),
        message,
    )


async def _show(
    request: Request, signed: Signed, canvas: Canvas, *, typing: bool = False
) -> Response:
    """The whole page; to the page's own requests only what changed: the diagram and problems,
    and the panel too unless the designer is typing in it."""
    partial = request.headers.get("hx-request") == "true"
    # In a thread, as the check is: reading each step of a large draft takes a while.
    diagram = await run_in_threadpool(drawn, canvas.definition, canvas.problems, canvas.selected)
    return page(
        request,
        "canvas_view.html" if partial else "canvas.html",
        signed=signed,
        canvas=canvas,
        diagram=diagram,
        palette=PALETTE,
        where_in=where_in,
        partial=partial,
        typing=typing,
        editing=True,
    )


@router.get("/sequences/{sequence_id}/edit")
async def canvas_page(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, signed: DesignerPage
) -> Response:
    saved = Saved.of(await sequence_or_404(session, sequence_id))
    canvas = await _canvas(session, saved, saved.name, saved.definition, "", [])
    return await _show(request, signed, canvas)


@router.post("/sequences/{sequence_id}/edit")
async def canvas_change(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    signed: DesignerForm,
    definition: Annotated[str, Form(max_length=1_000_000)],
    name: Short = "",
    base: Short = "",
    panel_for: Short = "",
    action: Short = "edit",
    target: Short = "",
    add_to: Position = 0,
    to_track: Position = 0,
    drop_track: Position = 0,
    drop_index: Position = 0,
) -> Response:
    """One change to the draft: what the panel sent, then the action of the button pressed."""
    verb, _, argument = action.partition(":")
    keeping = verb in ("save", "publish")
    # Read locked when it is to be saved: no one else's save can come between the check that
    # none came since the page was opened and this one.
    sequence = await sequence_or_404(session, sequence_id, for_update=keeping)
    saved = Saved.of(sequence)
    working = edits.working_copy(definition)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    unread = apply_panel(working, panel_for, form) if panel_for else []
    selected, message = panel_for, ""
    try:
        if keeping:
            async with session.begin_nested():  # a refusal keeps nothing of the attempt
                message = await _kept(session, signed.user, sequence, base, name, working, verb)
            saved = Saved.of(sequence)
            working = saved.definition
        else:
            selected = _changed(
                working,
                verb,
                argument,
                selected,
                target,
                (add_to, to_track, drop_track, drop_index),
            )
    except DomainError as refused:
        message = refused.message
    canvas = await _canvas(session, saved, name, working, selected, unread, message)
    return await _show(request, signed, canvas, typing=verb == "edit")


def _changed(
    working: dict[str, Any],
    verb: str,
    argument: str,
    selected: str,
    target: str,
    tracks: tuple[int, int, int, int],
) -> str:
    """Make the change; what is selected after it. `tracks`: the track to add a step to, to
    move the selected step to, and where a dragged card was dropped (a track and a position)."""
    add_to, to_track, drop_track, drop_index = tracks
    if verb == "select":
        return argument or target
    if verb == "add":  # after the selected step when it is in that track, else at its end
        track, step = edits.parse_place(working, selected)
        return edits.add_step(working, argument, add_to, step if track == add_to else None)
    if verb == "add_track":
        return edits.add_track(working)
    if verb == "move":
        return edits.move_step(working, target, drop_track, drop_index)
    if verb in ("up", "down"):
        return edits.move_by(working, selected, -1 if verb == "up" else 1)
    if verb == "to_track":
        return edits.move_step(working, selected, to_track, edits.END)
    if verb == "remove":
        return edits.remove(working, selected)
    if verb == "close":
        return ""
    return selected  # "edit": the panel's change alone


async def _kept(
    session: AsyncSession,
    user: User,
    sequence: Sequence,
    base: str,
    name: str,
    working: dict[str, Any],
    verb: str,
) -> str:
    """Save the draft, and with `verb` "publish" publish it; refused while it has problems or
    when someone else saved it since `base`, the time of the save the page was opened on. The
    caller holds the sequence's row lock."""
    if sequence.updated_at.isoformat() != base:
        raise Conflict(
            "someone saved this sequence since you opened it; open it again to see their "
            "changes (yours are not saved)"
        )
    if not name.strip():
        raise Invalid("not saved: give the sequence a name")
    dumped, _ = await drafts.problems_of(session, working)
    if dumped is None:
        raise Invalid("not saved: fix the problems shown first")
    changed = dumped != sequence.definition or name.strip() != sequence.name
    if changed:
        await drafts.save_draft(session, sequence, name.strip(), dumped)
    message = "Draft saved." if changed else "Nothing new to save."
    if verb == "publish":
        version = await drafts.publish(session, sequence, user)
        message = f"Published as version {version.version}."
    return message
