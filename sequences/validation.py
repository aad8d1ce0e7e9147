"""Whole-definition checks and error messages that name the step and field at fault."""

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sequences.actions import CommunicationStep, EmailStep
from sequences.fields import field_problems
from sequences.manual import ConditionStep, HadEvent, WaitForEventStep
from sequences.models import SequenceDefinition, Track


class DefinitionError(ValueError):
    """An invalid sequence definition; `errors` lists each problem with where it is."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['where']}: {e['message']}" for e in errors))


def parse_definition(
    raw: Any, custom_fields: Mapping[str, str] | None = None
) -> SequenceDefinition:
    """Validate a definition; with `custom_fields` (name: type) also check the fields it uses."""
    try:
        definition = SequenceDefinition.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError([_describe(raw, error) for error in exc.errors()]) from None
    problems = _duplicate_ids(definition)
    if not problems:
        problems = [
            problem
            for t, track in enumerate(definition.tracks)
            for problem in _flow_problems(t, track)
        ] + _message_step_problems(definition)
    if not problems and custom_fields is not None:
        problems = [
            _problem(step_where(step.id, t, i), field, message)
            for t, track in enumerate(definition.tracks)
            for i, step in enumerate(track.steps)
            for field, message in field_problems(step, custom_fields)
        ]
    if problems:
        raise DefinitionError(problems)
    return definition


def successors(track: Track) -> dict[str, list[str]]:
    """The steps each step can lead to: its transitions, or the following step by default."""
    graph: dict[str, list[str]] = {}
    for step in track.steps:
        targets = (track.following(step, transition) for transition in step.transitions())
        graph[step.id] = list(dict.fromkeys(t for t in targets if t is not None))
    return graph


def _flow_problems(t: int, track: Track) -> list[dict[str, Any]]:
    """Branches to unknown steps, steps nothing leads to, and loops that never pause."""
    index = track.step_positions

    def where(step_id: str) -> str:
        return step_where(step_id, t, index[step_id])

    problems = []
    for step in track.steps:
        for label, transition in step.ways_out().items():
            if transition.go_to is not None and transition.go_to not in index:
                # A way out is a field of the step, or one of a to-do's results.
                way = label if label in type(step).model_fields else f"outcomes.{label}"
                problems.append(
                    _problem(
                        where(step.id),
                        f"{way}.go_to",
                        f"there is no step {transition.go_to!r} in track {track.id!r}",
                    )
                )
    if problems:
        return problems
    graph = successors(track)

    reached = {track.steps[0].id}
    frontier = [track.steps[0].id]
    while frontier:
        for target in graph[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    for step in track.steps:
        if step.id not in reached:
            problems.append(
                _problem(where(step.id), None, "no step leads here, so it can never run")
            )

    waiting = {step.id for step in track.steps if step.waits}
    for loop in _loops(graph, index):
        if not loop & waiting:
            steps = ", ".join(repr(s) for s in sorted(loop, key=index.__getitem__))
            subject = f"steps {steps} form" if len(loop) > 1 else f"step {steps} forms"
            problems.append(
                _problem(
                    f"track {track.id!r} (tracks[{t}])",
                    None,
                    f"{subject} a loop with no timer in it; it would repeat "
                    "without pause, so add a delay or a wait to the loop",
                )
            )
    return problems


def _loops(graph: dict[str, list[str]], index: dict[str, int]) -> list[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan's algorithm)."""
    # A loop needs a way back; in most tracks every step leads only to steps after it.
    if all(index[target] > index[node] for node, targets in graph.items() for target in targets):
        return []
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[set[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                loops.append(component)

    for node in graph:
        if node not in order:
            visit(node)
    return loops


def _message_step_problems(definition: SequenceDefinition) -> list[dict[str, Any]]:
    """An event match that names a step names a communication step of this sequence; a goal,
    which hears events from outside any enrollment of it, names none."""
    senders = {
        step.id
        for track in definition.tracks
        for step in track.steps
        if isinstance(step, CommunicationStep)
    }

    def unknown(step_id: str | None) -> str | None:
        if step_id is None or step_id in senders:
            return None
        return f"{step_id!r} is not a communication step of this sequence; name one that sends"

    emails = {
        step.id
        for track in definition.tracks
        for step in track.steps
        if isinstance(step, EmailStep)
    }
    problems = []
    for t, track in enumerate(definition.tracks):
        for s, step in enumerate(track.steps):
            where = step_where(step.id, t, s)
            if isinstance(step, WaitForEventStep) and (message := unknown(step.match.step)):
                problems.append(_problem(where, "match.step", message))
            if (
                isinstance(step, ConditionStep)
                and isinstance(step.check, HadEvent)
                and (message := unknown(step.check.happened.step))
            ):
                problems.append(_problem(where, "check.happened.step", message))
            thread = step.thread_of if isinstance(step, EmailStep) else None
            if thread is not None and (thread == step.id or thread not in emails):
                message = (
                    f"{thread!r} is not another email step of this sequence; "
                    "a thread continues an earlier email"
                )
                problems.append(_problem(where, "thread_of", message))
    for r, rule in enumerate(definition.settings.exit_rules):
        if message := unknown(rule.step):
            problems.append(_problem(f"settings.exit_rules[{r}]", "step", message))
    for g, goal in enumerate(definition.settings.goals):
        if goal.step is not None:
            message = "a goal enrolls contacts from outside the sequence; it cannot name a step"
            problems.append(_problem(f"settings.goals[{g}]", "step", message))
    return problems


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
                        step_where(step.id, t, s),
                        "id",
                        f"step id {step.id!r} is used twice; step ids must be unique",
                    )
                )
            seen_steps.add(step.id)
    return problems


def step_where(step_id: str, track: int, step: int) -> str:
    return f"step {step_id!r} (tracks[{track}].steps[{step}])"


_PLACE = re.compile(r"\(tracks\[(\d+)\](?:\.steps\[(\d+)\])?\)$")


def place_of(problem: dict[str, Any]) -> tuple[int | None, int | None]:
    """The track and step (their indexes) a problem is at, read back from its `where`; None
    for the sequence as a whole."""
    found = _PLACE.search(problem["where"])
    if found is None:
        return None, None
    track, step = found.groups()
    return int(track), None if step is None else int(step)


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
        # So is the name of the member of a union of shapes (a condition's check) it read.
        rest = [part for part in rest if not (isinstance(part, str) and part[:1].isupper())]
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
