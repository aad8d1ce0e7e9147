"""The designers' canvas as it is drawn: an unfinished draft's diagram, where each of its
problems is (on which card, at which field of the side panel), and the panel's form for what is
selected."""

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from sequences import CONTINUE, STEP_KINDS, SequenceDefinition, SequenceSettings, Track
from sequences import place_of as problem_place
from web.canvas_edits import SETTINGS, Definition, parse_place, place_of, replace
from web.diagram import Diagram, Marks, draw
from web.schema_form import FormField, fields_of, read_form

TRACK_SKIPS = ("steps",)


@dataclass(frozen=True)
class Unfinished:
    """A step the language cannot read yet, drawn as a card that leads to the next one."""

    id: str
    kind: str
    name: str = ""

    def ways_out(self) -> dict[str, Any]:
        return {"then": CONTINUE}


def _drawable_step(raw: dict[str, Any], index: int) -> Any:
    model = STEP_KINDS.get(str(raw.get("kind")))
    if model is not None:
        try:
            return model.model_validate(raw)
        except ValidationError:
            pass
    return Unfinished(str(raw.get("id") or f"#{index + 1}"), str(raw.get("kind")), "")


def drawable(definition: Definition) -> SequenceDefinition:
    """The draft as the diagram reads it, each step that cannot be read yet as an unfinished
    card: nothing of it is run, so it need not be valid (the problems are shown beside it)."""
    tracks = [
        Track.model_construct(
            id=str(track.get("id") or f"#{t + 1}"),
            name=str(track.get("name") or ""),
            steps=[_drawable_step(step, s) for s, step in enumerate(track["steps"])],
        )
        for t, track in enumerate(definition["tracks"])
    ]
    return SequenceDefinition.model_construct(tracks=tracks)


def where_in(problem: dict[str, Any]) -> tuple[str, str]:
    """The place a problem belongs to, and its field's path there."""
    track, step = problem_place(problem)
    field_path = problem["field"] or ""
    if track is not None:
        return place_of(track, step), field_path
    where = problem["where"]
    if where.startswith("settings.") or field_path.startswith("settings."):
        # "settings.exit_rules[0]" and field "step": exit_rules.0.step
        path = re.sub(r"\[(\d+)\]", r".\1", where if where != "sequence" else "")
        path = ".".join(p for p in (path, field_path) if p).removeprefix("settings.")
        return SETTINGS, path
    return "", field_path


def drawn(definition: Definition, problems: list[dict[str, Any]], selected: str) -> Diagram:
    on_cards: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        place, path = where_in(problem)
        on_cards[place].append(f"{path}: {problem['message']}" if path else problem["message"])
    return draw(drawable(definition), None, Marks(on_cards, selected))


@dataclass
class Panel:
    """The side panel's form for what is selected, and its problems by field."""

    place: str
    title: str
    about: str
    fields: list[FormField]
    # Messages by field slot, and those no field of the form shows.
    at_fields: dict[str, list[str]] = field(default_factory=dict)
    elsewhere: list[str] = field(default_factory=list)
    is_step: bool = False


def _model_of(
    definition: Definition, place: str
) -> tuple[type[BaseModel], Any, str, tuple[str, ...]]:
    """What the selected place is read as, its JSON, its title and the properties not edited."""
    if place == SETTINGS:
        return SequenceSettings, definition.get("settings") or {}, "Sequence settings", ()
    track, step = parse_place(definition, place)
    if track is None:
        raise LookupError(place)
    if step is None:
        raw_track = definition["tracks"][track]
        return (
            Track,
            raw_track,
            f"Track {raw_track.get('name') or raw_track.get('id')}",
            TRACK_SKIPS,
        )
    raw = definition["tracks"][track]["steps"][step]
    model = STEP_KINDS.get(str(raw.get("kind")))
    if model is None:
        raise LookupError(place)
    # Decisions and to-dos lead elsewhere by their results: their `then` is never taken.
    skip = () if "then" in model.model_construct().ways_out() else ("then",)
    return model, raw, f"{str(raw['kind']).replace('_', ' ')} step", skip


def panel(
    definition: Definition,
    place: str,
    problems: list[dict[str, Any]],
    unread: list[tuple[str, str]],
) -> Panel | None:
    """The form for the selected place, with the problems there; None when nothing is."""
    try:
        model, value, title, skip = _model_of(definition, place)
    except LookupError:
        return None
    shown = Panel(
        place,
        title,
        " ".join((model.__doc__ or "").strip().split("\n\n")[0].split()),
        fields_of(model, value, skip),
        is_step="." in place,
    )
    slots = {f.path: f.slot for f in shown.fields}
    mine = unread + [
        (path, problem["message"])
        for problem in problems
        for at, path in [where_in(problem)]
        if at == place
    ]
    for path, message in mine:
        slot = _slot_for(path, slots)
        if slot is None:
            shown.elsewhere.append(f"{path}: {message}" if path else message)
        else:
            shown.at_fields.setdefault(slot, []).append(message)
    return shown


def _slot_for(path: str, slots: dict[str, str]) -> str | None:
    """The field that shows a problem at `path`: itself, or the nearest part holding it."""
    parts = path.split(".") if path else []
    while parts:
        slot = slots.get(".".join(parts))
        if slot is not None:
            return slot
        parts.pop()
    return None


def apply_panel(
    definition: Definition, place: str, form: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Put what the side panel sent into the draft; the fields that could not be read."""
    try:
        model, _, _, skip = _model_of(definition, place)
    except LookupError:
        return []  # the panel was for something removed since
    value, unread = read_form(model, form, skip)
    replace(definition, place, value)
    return unread
