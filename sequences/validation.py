"""Whole-definition checks and error messages that name the step and field at fault."""

from typing import Any

from pydantic import ValidationError

from sequences.models import SequenceDefinition


class DefinitionError(ValueError):
    """An invalid sequence definition; `errors` lists each problem with where it is."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['where']}: {e['message']}" for e in errors))


def parse_definition(raw: Any) -> SequenceDefinition:
    try:
        definition = SequenceDefinition.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError([_describe(raw, error) for error in exc.errors()]) from None
    problems = _duplicate_ids(definition)
    if problems:
        raise DefinitionError(problems)
    return definition


def _duplicate_ids(definition: SequenceDefinition) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    seen_tracks: set[str] = set()
    seen_steps: set[str] = set()
    for t, track in enumerate(definition.tracks):
        if track.id in seen_tracks:
            problems.append(_problem(f"tracks[{t}]", "id", f"track id {track.id!r} is used twice"))
        seen_tracks.add(track.id)
        for s, step in enumerate(track.steps):
            if step.id in seen_steps:
                problems.append(
                    _problem(
                        f"step {step.id!r} (tracks[{t}].steps[{s}])",
                        "id",
                        f"step id {step.id!r} is used twice; step ids must be unique",
                    )
                )
            seen_steps.add(step.id)
    return problems


def _problem(where: str, field: str | None, message: str) -> dict[str, Any]:
    return {"where": where, "field": field, "message": message}


def _describe(raw: Any, error: Any) -> dict[str, Any]:
    """Turn pydantic's location tuple into 'step "welcome" (tracks[0].steps[1])' and a field name."""
    loc = list(error["loc"])
    where = "sequence"
    field: str | None = None
    if len(loc) >= 2 and loc[0] == "tracks" and isinstance(loc[1], int):
        track_raw = _item(raw, "tracks", loc[1])
        where = f"track {_id_of(track_raw, loc[1])} (tracks[{loc[1]}])"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int):
            step_raw = _item(track_raw, "steps", rest[1])
            where = f"step {_id_of(step_raw, rest[1])} (tracks[{loc[1]}].steps[{rest[1]}])"
            rest = rest[2:]
            if rest and isinstance(step_raw, dict) and rest[0] == step_raw.get("kind"):
                rest = rest[1:]  # the discriminator tag pydantic puts in the path
        field = ".".join(str(part) for part in rest) or None
    elif loc:
        field = ".".join(str(part) for part in loc)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid":
        field, message = "kind", f"unknown step kind; use one of {error['ctx']['expected_tags']}"
    elif error["type"] == "union_tag_not_found":
        field, message = "kind", "every step needs a kind"
    return _problem(where, field, message)


def _item(container: Any, key: str, index: int) -> Any:
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list) and 0 <= index < len(items):
        return items[index]
    return None


def _id_of(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return repr(item["id"])
    return f"#{index + 1}"
