"""What changed from one version of a sequence to another, step by step: the steps each track
gained and lost, and the fields of the steps both have that differ."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrackChanges:
    track_id: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)


@dataclass
class Changes:
    tracks: list[TrackChanges]
    settings: list[str]

    @property
    def none(self) -> bool:
        return not self.settings and not any(
            t.added or t.removed or t.changed or t.moved for t in self.tracks
        )


def _steps(track: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in track.get("steps", [])}


def _fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def changes(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """Between two definitions as stored (JSON): tracks in `after`'s order, then those gone."""
    old = {t["id"]: t for t in before.get("tracks", [])}
    new = {t["id"]: t for t in after.get("tracks", [])}
    found = []
    for track_id in [*new, *(t for t in old if t not in new)]:
        was, now = _steps(old.get(track_id, {})), _steps(new.get(track_id, {}))
        track = TrackChanges(track_id)
        track.added = [s for s in now if s not in was]
        track.removed = [s for s in was if s not in now]
        for step_id in (s for s in now if s in was):
            differ = _fields(was[step_id], now[step_id])
            if differ:
                track.changed[step_id] = differ
        kept_before = [s for s in was if s in now]
        kept_after = [s for s in now if s in was]
        track.moved = [s for s, t in zip(kept_before, kept_after, strict=True) if s != t]
        found.append(track)
    return Changes(found, _fields(before.get("settings", {}), after.get("settings", {})))
