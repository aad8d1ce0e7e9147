"""A sequence drawn as the designer thinks of it: its tracks side by side, each a column of
step cards, with arrows where a step leads elsewhere than the card below it, and each step's
live counts from the report. Pure layout: the template draws it as SVG."""

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
    tracks: list[tuple[str, int]] = field(default_factory=list)
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


def _rows(track: Track) -> dict[str, int]:
    """Each card's top: below the one before, leaving room for that one's endings."""
    tops, y = {}, MARGIN + HEADER
    for step in track.steps:
        tops[step.id] = y
        y += CARD_HEIGHT + ROW_GAP + ENDING_LINE * len(_endings(step))
    return tops


def _column(diagram: Diagram, track: Track, x: int, report: dict[str, Any] | None) -> int:
    """Draw the track at `x`; how far down it reaches."""
    diagram.tracks.append((track.name or track.id, x))
    tops = _rows(track)
    middle = x + CARD_WIDTH // 2
    for index, step in enumerate(track.steps):
        y = tops[step.id]
        diagram.cards.append(
            Card(
                track.id,
                step.id,
                step.kind,
                FAMILY_OF_KIND[step.kind],
                _title(step),
                x,
                y,
                _counts(report, step.id),
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
            if target is None:
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
    last = track.steps[-1]
    return tops[last.id] + CARD_HEIGHT + ROW_GAP + ENDING_LINE * len(_endings(last))


def draw(definition: SequenceDefinition, report: dict[str, Any] | None = None) -> Diagram:
    """The definition's diagram, with the report's counts on its cards when given."""
    diagram = Diagram(width=MARGIN * 2 + len(definition.tracks) * (CARD_WIDTH + COLUMN_GAP))
    for index, track in enumerate(definition.tracks):
        bottom = _column(diagram, track, MARGIN + index * (CARD_WIDTH + COLUMN_GAP), report)
        diagram.height = max(diagram.height, bottom + MARGIN)
    return diagram
