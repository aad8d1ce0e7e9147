"""Validation of calls, tasks, event waits, conditions, exit rules and goals; condition logic."""

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.tasks import _compare
from sequences import (
    CallStep,
    DefinitionError,
    FieldCompare,
    FieldOp,
    Outcome,
    TaskStep,
    parse_definition,
)
from sequences.validation import successors


def _errors(*steps: dict[str, Any], **settings: Any) -> list[dict[str, Any]]:
    raw: dict[str, Any] = {"tracks": [{"id": "main", "steps": list(steps)}], "settings": settings}
    with pytest.raises(DefinitionError) as raised:
        parse_definition(raw)
    return raised.value.errors


def test_call_results_have_defaults_that_steps_can_override() -> None:
    call = CallStep(id="c", title="Call", outcomes={"no_answer": {"go_to": "c"}})  # type: ignore[dict-item]
    assert call.transition_for("interested").end == Outcome.positive
    assert call.transition_for("not_interested").end == Outcome.negative
    assert call.transition_for("left_voicemail").go_to is None
    assert call.transition_for("no_answer").go_to == "c"
    assert list(TaskStep.RESULTS) == ["none", "positive", "negative"]


def test_unknown_results_and_missing_assignees_are_named() -> None:
    [error] = _errors({"id": "c", "kind": "call", "title": "Call", "outcomes": {"busy": {}}})
    assert error["where"] == "step 'c' (tracks[0].steps[0])"
    assert "unknown result(s) busy" in error["message"]
    assert "no_answer, left_voicemail, interested, not_interested" in error["message"]

    [error] = _errors({"id": "t", "kind": "task", "title": "T", "assign_to": {"who": "user"}})
    assert error["field"] == "assign_to"
    assert "give user_id exactly when who is 'user'" in error["message"]


def test_a_loop_back_to_a_call_is_allowed_because_it_waits_for_a_person() -> None:
    definition = parse_definition(
        {
            "tracks": [
                {
                    "id": "main",
                    "steps": [
                        {
                            "id": "call",
                            "kind": "call",
                            "title": "Call",
                            "outcomes": {"no_answer": {"go_to": "call"}},
                        }
                    ],
                }
            ]
        }
    )
    assert successors(definition.tracks[0]) == {"call": ["call"]}


def test_event_waits_and_conditions_branch_both_ways() -> None:
    definition = parse_definition(
        {
            "tracks": [
                {
                    "id": "main",
                    "steps": [
                        {
                            "id": "wait",
                            "kind": "wait_for_event",
                            "match": {"event": "email_opened"},
                            "within": "P3D",
                            "if_not": {"go_to": "no"},
                        },
                        {
                            "id": "yes",
                            "kind": "condition",
                            "check": {"has_tag": "vip"},
                            "if_true": {"end": "positive"},
                        },
                        {"id": "no", "kind": "apply_tag", "tag": "cold"},
                    ],
                }
            ]
        }
    )
    assert successors(definition.tracks[0]) == {"wait": ["yes", "no"], "yes": ["no"], "no": []}


def test_event_and_condition_mistakes_are_named() -> None:
    errors = _errors(
        {"id": "w", "kind": "wait_for_event", "match": {"event": "custom"}, "within": "PT0S"},
        {"id": "c", "kind": "condition", "check": {"field": "seats", "op": "equals"}},
    )
    messages = {(e["where"].split(" (")[0], e["field"]): e["message"] for e in errors}
    assert "a custom event needs a name" in messages[("step 'w'", "match")]
    assert "positive duration" in messages[("step 'w'", "within")]
    assert any(
        "op equals needs a value" in m for (where, _), m in messages.items() if where == "step 'c'"
    )


def test_exit_rules_and_goals_are_validated() -> None:
    errors = _errors(
        {"id": "a", "kind": "apply_tag", "tag": "x"},
        exit_rules=[{"event": "tag_applied"}],
        goals=[{"event": "nope"}],
    )
    fields = {e["field"] for e in errors}
    assert fields == {"settings.exit_rules.0", "settings.goals.0.event"}


@pytest.mark.parametrize(
    ("actual", "op", "value", "expected"),
    [
        ("120", FieldOp.greater_than, 50, True),
        (3, FieldOp.greater_than, 50, False),
        (3, FieldOp.less_than, 50.5, True),
        ("Gold", FieldOp.equals, "Gold", True),
        ("Gold", FieldOp.not_equals, "Silver", True),
        ("Gold plan", FieldOp.contains, "gold", True),
        (None, FieldOp.is_set, None, False),
        ("", FieldOp.is_not_set, None, True),
        ("x", FieldOp.is_set, None, True),
        (None, FieldOp.equals, "x", False),
        (None, FieldOp.not_equals, "x", True),
        (True, FieldOp.equals, True, True),
        ("TRUE", FieldOp.equals, True, True),
    ],
)
def test_field_comparisons(actual: Any, op: FieldOp, value: Any, expected: bool) -> None:
    assert _compare(actual, FieldCompare(field="f", op=op, value=value)) is expected


def test_comparing_text_with_a_number_fails_the_step_permanently() -> None:
    with pytest.raises(
        ApplicationError, match="field 'f' holds 'lots', which is not a number"
    ) as raised:
        _compare("lots", FieldCompare(field="f", op=FieldOp.greater_than, value=3))
    assert raised.value.non_retryable


def test_an_event_about_a_message_names_a_step_that_sends_one() -> None:
    email = {"id": "hello", "kind": "email", "subject": "Hi", "body": "b"}
    tag = {"id": "tag", "kind": "apply_tag", "tag": "x"}

    def wait(step: str, event: str = "email_opened") -> dict[str, Any]:
        return {
            "id": "w",
            "kind": "wait_for_event",
            "match": {"event": event, "step": step},
            "within": "PT1H",
        }

    definition = parse_definition({"tracks": [{"id": "main", "steps": [email, wait("hello")]}]})
    assert definition.tracks[0].steps[1].match.step == "hello"  # type: ignore[union-attr]

    [not_sending] = _errors(email, tag, wait("tag"))
    assert (not_sending["field"], not_sending["message"]) == (
        "match.step",
        "'tag' is not a communication step of this sequence; name one that sends",
    )
    [not_about_a_message] = _errors(email, wait("hello", event="page_visited"))
    assert "only an event about a message" in not_about_a_message["message"]
    [rule] = _errors(email, exit_rules=[{"event": "replied", "step": "nowhere"}])
    assert (rule["where"], rule["field"]) == ("settings.exit_rules[0]", "step")
    [goal] = _errors(email, goals=[{"event": "replied", "step": "hello"}])
    assert goal["message"] == (
        "a goal enrolls contacts from outside the sequence; it cannot name a step"
    )


def test_only_clicks_and_visits_test_a_url() -> None:
    def wait(event: str) -> dict[str, Any]:
        match = {"event": event, "url_contains": "/pricing"}
        return {"id": "w", "kind": "wait_for_event", "match": match, "within": "PT1H"}

    parse_definition({"tracks": [{"id": "main", "steps": [wait("page_visited")]}]})
    [error] = _errors(wait("replied"))
    assert "only an event with a URL (link_clicked, page_visited) can test it" in error["message"]
