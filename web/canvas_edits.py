"""What a designer does on the canvas, done to the draft's JSON: add, move, change and remove
steps and tracks. The JSON may be unfinished (the language says what is missing); these only
keep its shape. Places name what is selected: "1.2" is the third step of the second track, "1"
the second track, "settings" the sequence's settings."""

import json
from typing import Any

from api.errors import Invalid
from sequences import FAMILY_OF_KIND

SETTINGS = "settings"
END = 10**6  # a position past any track's last step
Definition = dict[str, Any]


def working_copy(text: str) -> Definition:
    """The draft the canvas sent back: tracks of steps, each a JSON object."""
    try:
        definition = json.loads(text)
    except ValueError:
        definition = None
    tracks = definition.get("tracks") if isinstance(definition, dict) else None
    if not isinstance(tracks, list) or not all(
        isinstance(t, dict)
        and isinstance(t.get("steps"), list)
        and all(isinstance(s, dict) for s in t["steps"])
        for t in tracks
    ):
        raise Invalid("the canvas sent a draft it could not have made; reload the page")
    return definition  # type: ignore[no-any-return]


def place_of(track: int, step: int | None = None) -> str:
    return f"{track}" if step is None else f"{track}.{step}"


def parse_place(definition: Definition, place: str) -> tuple[int | None, int | None]:
    """The track and step a place names, when they exist; (None, None) otherwise."""
    parts = place.split(".")
    if not 1 <= len(parts) <= 2 or not all(part.isdigit() for part in parts):
        return None, None
    track, step = int(parts[0]), (int(parts[1]) if len(parts) == 2 else None)
    tracks = definition["tracks"]
    if track >= len(tracks) or (step is not None and step >= len(tracks[track]["steps"])):
        return None, None
    return track, step


def step_at(definition: Definition, place: str) -> dict[str, Any] | None:
    track, step = parse_place(definition, place)
    if track is None or step is None:
        return None
    return definition["tracks"][track]["steps"][step]  # type: ignore[no-any-return]


def _unused(taken: set[str], stem: str) -> str:
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


def _step_ids(definition: Definition) -> set[str]:
    return {str(s.get("id")) for t in definition["tracks"] for s in t["steps"]}


def add_step(definition: Definition, kind: str, track: int, after: int | None) -> str:
    """A new step of `kind` in the track, after step `after` or at the end; its place."""
    if kind not in FAMILY_OF_KIND:
        raise Invalid(f"there is no step kind {kind!r}")
    if not 0 <= track < len(definition["tracks"]):
        raise Invalid("add the step to one of the sequence's tracks")
    steps = definition["tracks"][track]["steps"]
    index = len(steps) if after is None or after >= len(steps) else after + 1
    steps.insert(
        index, {"id": _unused(_step_ids(definition), kind.replace("_", "-")), "kind": kind}
    )
    return place_of(track, index)


def add_track(definition: Definition) -> str:
    taken = {str(t.get("id")) for t in definition["tracks"]}
    track_id = _unused(taken, "track")
    definition["tracks"].append({"id": track_id, "name": "", "steps": []})
    return place_of(len(definition["tracks"]) - 1)


def move_step(definition: Definition, place: str, track: int, index: int) -> str:
    """The step at `place` moved to position `index` of `track`; its new place."""
    source, step = parse_place(definition, place)
    if source is None or step is None or not 0 <= track < len(definition["tracks"]):
        raise Invalid("move a step of the sequence to one of its tracks")
    moved = definition["tracks"][source]["steps"].pop(step)
    steps = definition["tracks"][track]["steps"]
    index = max(0, min(index, len(steps)))
    steps.insert(index, moved)
    return place_of(track, index)


def move_by(definition: Definition, place: str, delta: int) -> str:
    track, step = parse_place(definition, place)
    if track is None or step is None:
        raise Invalid("select a step to move")
    return move_step(definition, place, track, step + delta)


def remove(definition: Definition, place: str) -> str:
    """Remove the step or track at `place`; what is selected after: the step before, if any."""
    track, step = parse_place(definition, place)
    if track is None:
        raise Invalid("select a step or a track to remove")
    if step is None:
        if len(definition["tracks"]) == 1:
            raise Invalid("a sequence needs a track; remove its steps instead")
        del definition["tracks"][track]
        return ""
    del definition["tracks"][track]["steps"][step]
    return place_of(track, step - 1) if step else ""


def replace(definition: Definition, place: str, value: dict[str, Any]) -> None:
    """Put what the side panel sent in the place it was opened for."""
    if place == SETTINGS:
        definition["settings"] = value
        return
    track, step = parse_place(definition, place)
    if track is None:
        return  # the panel was for something removed since
    if step is None:
        definition["tracks"][track] = {**value, "steps": definition["tracks"][track]["steps"]}
    else:
        kind = definition["tracks"][track]["steps"][step].get("kind")
        definition["tracks"][track]["steps"][step] = {**value, "kind": kind}
