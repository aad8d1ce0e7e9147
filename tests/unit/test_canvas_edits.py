"""What the canvas does to a draft's JSON: steps added where the designer is, moved within and
between tracks, removed; and a draft it could not have sent refused."""

from typing import Any

import pytest

from api.errors import Invalid
from web import canvas_edits as edits
from web.canvas import drawable


def _draft() -> dict[str, Any]:
    return {
        "tracks": [
            {"id": "a", "steps": [{"id": "one", "kind": "delay"}, {"id": "two", "kind": "sms"}]},
            {"id": "b", "steps": [{"id": "three", "kind": "call"}]},
        ]
    }


def _ids(draft: dict[str, Any]) -> list[list[str]]:
    return [[step["id"] for step in track["steps"]] for track in draft["tracks"]]


def test_a_step_is_added_after_the_selected_one_with_an_unused_id() -> None:
    draft = _draft()
    draft["tracks"][1]["steps"].append({"id": "email-1", "kind": "email"})
    assert edits.add_step(draft, "email", 0, 0) == "0.1"
    assert _ids(draft) == [["one", "email-2", "two"], ["three", "email-1"]]
    assert edits.add_step(draft, "apply_tag", 1, None) == "1.2"
    assert draft["tracks"][1]["steps"][2] == {"id": "apply-tag-1", "kind": "apply_tag"}
    with pytest.raises(Invalid, match="no step kind"):
        edits.add_step(draft, "teleport", 0, None)


def test_steps_move_within_and_between_tracks() -> None:
    draft = _draft()
    assert edits.move_step(draft, "0.0", 1, 1) == "1.1"
    assert _ids(draft) == [["two"], ["three", "one"]]
    assert edits.move_by(draft, "1.1", -1) == "1.0"
    assert _ids(draft) == [["two"], ["one", "three"]]
    assert edits.move_step(draft, "1.1", 0, edits.END) == "0.1"
    assert _ids(draft) == [["two", "three"], ["one"]]


def test_removing_selects_the_step_before_and_a_last_track_stays() -> None:
    draft = _draft()
    assert edits.remove(draft, "0.1") == "0.0"
    assert edits.remove(draft, "1") == ""
    assert _ids(draft) == [["one"]]
    with pytest.raises(Invalid, match="needs a track"):
        edits.remove(draft, "0")


def test_a_new_track_starts_empty_and_is_still_drawn() -> None:
    draft = _draft()
    assert edits.add_track(draft) == "2"
    assert draft["tracks"][2] == {"id": "track-1", "name": "", "steps": []}
    drawn = drawable(draft)
    assert [track.id for track in drawn.tracks] == ["a", "b", "track-1"]
    # Unfinished steps (no duration, no text) are drawn as cards all the same.
    assert [step.kind for step in drawn.tracks[0].steps] == ["delay", "sms"]


@pytest.mark.parametrize(
    "sent", ["not json", "[]", '{"tracks": {}}', '{"tracks": [{"steps": [1]}]}']
)
def test_a_draft_the_canvas_could_not_have_sent_is_refused(sent: str) -> None:
    with pytest.raises(Invalid, match="reload the page"):
        edits.working_copy(sent)
