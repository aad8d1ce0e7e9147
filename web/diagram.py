"""A sequence drawn as the designer thinks of it: its tracks side by side, each a column of
step cards, with arrows where a step leads elsewhere than the card below it, and each step's
live counts from the report, or on the canvas its problems. Pure layout: the template draws it
as SVG."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sequences import FAMILY_OF_KIND, SequenceDefinition, Track

CARD_WIDTH = 220
CARD_HEIGHT = 84
COLUMN_GAP = 90
ROW_GAP = 34
MARGIN = 20
HEADER = 36
ENDING_LINE = 13


@dataclass(frozen=True)
class Card:
    track_id: str
    step_id: str
    kind: str
    family: str
    title: str
    x: int
    y: int
    counts: dict[str, int]
    at: str
    problems: tuple[str, ...] = ()
    selected: bool = False


@dataclass(frozen=True)
class Arrow:
    """From a card's side to another card of the track, or down to the next one."""

    path: str
    label: str
    label_x: int
    label_y: int


@dataclass(frozen=True)
class Ending:
    label: str
    x: int
    y: int


@dataclass
class Diagram:
    width: int
    height: int = 0
    card_width: int = CARD_WIDTH
    card_height: int = CARD_HEIGHT
    column_gap: int = COLUMN_GAP
    # Each track's name, left edge and index.
    tracks: list[tuple[str, int, int]] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    endings: list[Ending] = field(default_factory=list)


def _title(step: Any) -> str:
    return str(step.name or getattr(step, "title", "") or getattr(step, "subject", "") or step.id)


def _counts(report: dict[str, Any] | None, step_id: str) -> dict[str, int]:
    step = (report or {}).get("steps", {}).get(step_id)
    if not step:
        return {"waiting": 0, "reached": 0, "completed": 0}
    counts = {key: int(step[key]) for key in ("waiting", "reached", "completed")}
    engagement = step.get("engagement")
    if engagement:
        counts |= {key: int(engagement[key]) for key in ("opened", "clicked", "replied")}
    return counts


def _endings(step: Any) -> list[str]:
    return [
        f"{'' if label == 'then' else label.replace('_', ' ') + ': '}end {way.end.value}"
        for label, way in step.ways_out().items()
        if way.end is not None
    ]


def _rows(track: Track) -> list[int]:
    """Each card's top: below the one before, leaving room for that one's endings."""
    tops, y = [], MARGIN + HEADER
    for step in track.steps:
        tops.append(y)
        y += CARD_HEIGHT + ROW_GAP + ENDING_LINE * len(_endings(step))
    return tops


@dataclass(frozen=True)
class Marks:
    """What the canvas shows on cards besides the report: problems and the one selected, each
    by the card's place, "track.step"."""

    problems: Mapping[str, Sequence[str]] = field(default_factory=dict)
    selected: str = ""


def _column(
    diagram: Diagram, t: int, track: Track, report: dict[str, Any] | None, marks: Marks
) -> int:
    """Draw the track, the t-th, in its column; how far down it reaches."""
    x = MARGIN + t * (CARD_WIDTH + COLUMN_GAP)
    diagram.tracks.append((track.name or track.id, x, t))
    if not track.steps:
        return MARGIN + HEADER + CARD_HEIGHT
    rows = _rows(track)
    # An unfinished draft may name a step twice; an arrow goes to the first.
    tops = {step.id: rows[index] for index, step in reversed(list(enumerate(track.steps)))}
    middle = x + CARD_WIDTH // 2
    for index, step in enumerate(track.steps):
        y = rows[index]
        at = f"{t}.{index}"
        diagram.cards.append(
            Card(
                track.id,
                step.id,
                step.kind,
                FAMILY_OF_KIND.get(step.kind, "unknown"),
                _title(step),
                x,
                y,
                _counts(report, step.id),
                at,
                tuple(marks.problems.get(at, ())),
                marks.selected == at,
            )
        )
        for line, ending in enumerate(_endings(step)):
            diagram.endings.append(Ending(ending, x + 6, y + CARD_HEIGHT + 14 + ENDING_LINE * line))
        below = track.steps[index + 1].id if index + 1 < len(track.steps) else None
        ways = step.ways_out()
        bends = 0
        for label, way in ways.items():
            shown = "" if label == "then" else label.replace("_", " ")
            target = track.following(step, way)
            if target not in tops:  # the end, or a step an unfinished draft lacks
                continue
            if target == below:
                diagram.arrows.append(
                    Arrow(
                        f"M{middle},{y + CARD_HEIGHT} L{middle},{tops[target]}",
                        shown if len(ways) > 1 else "",
                        middle + 6,
                        tops[target] - 8,
                    )
                )
                continue
            bends += 1
            right, reach = x + CARD_WIDTH, x + CARD_WIDTH + 20 + 16 * bends
            start, end = y + CARD_HEIGHT // 2, tops[target] + CARD_HEIGHT // 2
            if target == step.id:  # back to itself: a loop on its side
                start, end = y + CARD_HEIGHT // 4, y + 3 * CARD_HEIGHT // 4
            diagram.arrows.append(
                Arrow(
                    f"M{right},{start} C{reach},{start} {reach},{end} {right},{end}",
                    shown or "go to",
                    reach - 10,
                    (start + end) // 2,
                )
            )
    return rows[-1] + CARD_HEIGHT + ROW_GAP + ENDING_LINE * len(_endings(track.steps[-1]))


def draw(
    definition: SequenceDefinition,
    report: dict[str, Any] | None = None,
    marks: Marks | None = None,
) -> Diagram:
    """The definition's diagram, with the report's counts on its cards when given."""
    diagram = Diagram(width=MARGIN * 2 + len(definition.tracks) * (CARD_WIDTH + COLUMN_GAP))
    for t, track in enumerate(definition.tracks):
        bottom = _column(diagram, t, track, report, marks or Marks())
        diagram.height = max(diagram.height, bottom + MARGIN)
    return diagram
