"""Branches, outcomes, reachability and loops in sequence definitions."""

from typing import Any

import pytest

from sequences import DefinitionError, Outcome, Reentry, parse_definition
from sequences.validation import successors


def _track(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}]}


def _tag(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "apply_tag", "tag": step_id, **extra}


def _errors(raw: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(raw)
    return raised.value.errors


def test_steps_follow_each_other_unless_they_branch_or_end() -> None:
    definition = parse_definition(
        _track(
            _tag("a"),
            _tag("b", then={"go_to": "d"}),
            _tag("c", then={"end": "positive"}),
            _tag("d", then={"go_to": "c"}),
        )
    )
    assert successors(definition.tracks[0]) == {"a": ["b"], "b": ["d"], "c": [], "d": ["c"]}
    assert definition.tracks[0].steps[2].then.end == Outcome.positive


def test_go_to_an_unknown_step_is_named() -> None:
    errors = _errors(_track(_tag("a", then={"go_to": "nowhere"})))
    assert errors == [
        {
            "where": "step 'a' (tracks[0].steps[0])",
            "field": "then.go_to",
            "message": "there is no step 'nowhere' in track 'main'",
        }
    ]


def test_go_to_a_step_of_another_track_is_refused() -> None:
    raw = {
        "tracks": [
            {"id": "one", "steps": [_tag("a", then={"go_to": "b"})]},
            {"id": "two", "steps": [_tag("b")]},
        ]
    }
    assert _errors(raw)[0]["message"] == "there is no step 'b' in track 'one'"


def test_go_to_and_end_together_are_refused() -> None:
    errors = _errors(_track(_tag("a", then={"go_to": "a", "end": "negative"})))
    assert errors[0]["field"] == "then"
    assert errors[0]["message"] == "give go_to or end, not both"


def test_unknown_outcome_is_refused() -> None:
    errors = _errors(_track(_tag("a", then={"end": "great"})))
    assert errors[0]["field"] == "then.end"
    assert "positive" in errors[0]["message"]


def test_steps_nothing_leads_to_are_unreachable() -> None:
    errors = _errors(_track(_tag("a", then={"end": "neutral"}), _tag("b"), _tag("c")))
    assert [(e["where"], e["message"]) for e in errors] == [
        ("step 'b' (tracks[0].steps[1])", "no step leads here, so it can never run"),
        ("step 'c' (tracks[0].steps[2])", "no step leads here, so it can never run"),
    ]


def test_a_loop_without_a_timer_is_refused() -> None:
    errors = _errors(_track(_tag("a"), _tag("b", then={"go_to": "a"})))
    assert errors == [
        {
            "where": "track 'main' (tracks[0])",
            "field": None,
            "message": "steps 'a', 'b' form a loop with no timer in it; it would repeat "
            "without pause, so add a delay or a wait to the loop",
        }
    ]
    self_loop = _errors(_track(_tag("a", then={"go_to": "a"})))
    assert self_loop[0]["message"].startswith("step 'a' forms a loop with no timer")


def test_a_loop_through_a_delay_is_allowed() -> None:
    definition = parse_definition(
        _track(
            _tag("a"),
            {"id": "wait", "kind": "delay", "duration": "P7D"},
            _tag("b", then={"go_to": "a"}),
        )
    )
    assert successors(definition.tracks[0])["b"] == ["a"]


def test_settings_default_and_validate() -> None:
    definition = parse_definition(_track(_tag("a")))
    assert definition.settings.reentry == Reentry.after_end
    assert definition.settings.timezone is None

    raw = _track(_tag("a")) | {"settings": {"timezone": "Europe/Atlantis", "reentry": "sometimes"}}
    errors = {e["field"]: e["message"] for e in _errors(raw)}
    assert "unknown timezone 'Europe/Atlantis'" in errors["settings.timezone"]
    assert "never" in errors["settings.reentry"]
