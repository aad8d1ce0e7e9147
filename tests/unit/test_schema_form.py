"""The side panel's form is made from each step kind's schema: every kind's steps go through it
and come back as they were, and a problem the language finds shows at its field."""

from typing import Any

import pytest

from sequences import STEP_KINDS, DefinitionError, SequenceSettings, parse_definition
from web.canvas import panel
from web.schema_form import FormField, fields_of, read_form

USER = "00000000-0000-0000-0000-0000000000aa"
# One step of every kind, with as many of its fields set as it takes.
EXAMPLES: dict[str, dict[str, Any]] = {
    "delay": {
        "id": "d",
        "name": "Wait",
        "duration": "P2D",
        "window": {"start": "09:00:00", "end": "17:00:00"},
        "days": "business_days",
        "then": {"go_to": "d"},
    },
    "date_timer": {"id": "d", "on": "2030-01-31", "at": "10:00:00", "if_past": "skip"},
    "field_timer": {"id": "d", "field": "birthday", "offset_days": -3, "yearly": True},
    "event_timer": {"id": "d", "offset_days": 2, "at": "08:00:00"},
    "email": {
        "id": "e",
        "subject": "Hi {{ contact.first_name }}",
        "body": "Line one\nLine two",
        "html": "<p>Hi</p>",
        "send_to": {"who": "user", "user_id": USER},
        "note": "for designers",
    },
    "sms": {"id": "s", "text": "Hi", "send_to": {"who": "address", "address": "+15555550100"}},
    "voice": {"id": "s", "script": "Hello"},
    "fax": {"id": "s", "cover": "Cover", "body": "Body"},
    "letter": {"id": "s", "body": "Dear"},
    "apply_tag": {"id": "t", "tag": "vip", "then": {"end": "positive"}},
    "remove_tag": {"id": "t", "tag": "vip"},
    "note": {"id": "n", "body": "Called"},
    "create_task": {
        "id": "t",
        "title": "Follow up",
        "instructions": "Ask about the plan",
        "assign_to": {"who": "user", "user_id": USER},
        "due_in": "PT4H",
    },
    "appointment": {
        "id": "a",
        "title": "Demo",
        "starts_in": "P2D",
        "duration": "PT30M",
        "location": "Zoom",
    },
    "set_field": {"id": "f", "field": "plan", "value": 42},
    "assign_owner": {"id": "o", "round_robin": [USER, "00000000-0000-0000-0000-0000000000bb"]},
    "opportunity": {"id": "o", "title": "Upgrade", "stage": "won", "value": "500.00"},
    "fulfillment": {"id": "f", "list_name": "Welcome kit"},
    "order": {"id": "o", "items": [{"name": "Seat", "quantity": 2, "unit_price": "10.00"}]},
    "http_post": {"id": "h", "url": "https://example.com/hook", "fields": {"plan": "gold"}},
    "call": {
        "id": "c",
        "title": "Intro call",
        "regarding_opportunity": True,
        "outcomes": {"no_answer": {"go_to": "c"}, "interested": {"end": "neutral"}},
    },
    "task": {"id": "t", "title": "Check", "outcomes": {"none": {"end": "negative"}}},
    "manual_email": {"id": "m", "title": "Write to them"},
    "wait_for_event": {
        "id": "w",
        "match": {"event": "link_clicked", "url_contains": "pricing"},
        "within": "P3D",
        "if_not": {"end": "negative"},
    },
    "condition": {
        "id": "c",
        "check": {"field": "plan", "op": "equals", "value": "gold"},
        "if_true": {"end": "positive"},
    },
}


def _sent(fields: list[FormField]) -> dict[str, str]:
    """What a browser sends for the form as shown: unchecked boxes send nothing."""
    sent = {}
    for field in fields:
        if field.widget == "group" or (field.widget == "checkbox" and not field.value):
            continue
        sent[field.name] = "on" if field.widget == "checkbox" else str(field.value)
    return sent


def _parsed(step: dict[str, Any]) -> Any:
    return parse_definition({"tracks": [{"id": "t", "steps": [step]}]}).tracks[0].steps[0]


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(STEP_KINDS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_step_comes_back_from_its_form_as_it_was(kind: str) -> None:
    step = {**EXAMPLES[kind], "kind": kind}
    original = _parsed(step)
    read, unread = read_form(STEP_KINDS[kind], _sent(fields_of(STEP_KINDS[kind], step)))
    assert unread == []
    assert _parsed({**read, "kind": kind}) == original


def test_fields_left_empty_take_their_defaults_and_a_required_one_is_sent_empty() -> None:
    fields = fields_of(STEP_KINDS["delay"], {"id": "d", "kind": "delay"})
    sent = {**_sent(fields), "f.id": ""}
    read, _ = read_form(STEP_KINDS["delay"], sent)
    # The window's times are required in a window, but no window was given at all.
    assert read == {"id": "", "duration": ""}


def test_what_the_form_cannot_read_is_said_at_its_field() -> None:
    _, unread = read_form(STEP_KINDS["http_post"], {"f.id": "h", "f.fields": "{not json"})
    assert [path for path, _ in unread] == ["fields"]


def _problems(draft: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(draft)
    return raised.value.errors


def test_the_languages_problems_show_at_their_fields() -> None:
    draft: dict[str, Any] = {
        "tracks": [
            {
                "id": "t",
                "steps": [
                    {"id": "d", "kind": "delay", "duration": "3 days"},
                    {
                        "id": "c",
                        "kind": "call",
                        "title": "x",
                        "outcomes": {"no_answer": {"go_to": "nowhere"}},
                    },
                ],
            }
        ]
    }
    shown = panel(draft, "0.0", _problems(draft), [])
    assert shown is not None
    assert "is not an ISO 8601 duration" in shown.at_fields["problem-duration"][0]
    # A problem below a field the form edits as one (a group's part) shows at the part.
    draft["tracks"][0]["steps"][0]["duration"] = "P3D"
    shown = panel(draft, "0.1", _problems(draft), [])
    assert shown is not None
    assert shown.at_fields["problem-outcomes--no_answer--go_to"] == [
        "there is no step 'nowhere' in track 't'"
    ]


def test_the_sequences_settings_come_back_from_their_form() -> None:
    settings = {
        "reentry": "never",
        "timezone": "Europe/Paris",
        "holidays": ["2030-12-25", "2031-01-01"],
        "exit_rules": [{"event": "replied", "whole_company": True}],
        "goals": [{"event": "tag_applied", "name": "vip"}],
        "on_failure": "stop_all",
    }
    read, unread = read_form(SequenceSettings, _sent(fields_of(SequenceSettings, settings)))
    assert unread == []
    assert SequenceSettings.model_validate(read) == SequenceSettings.model_validate(settings)


def test_a_choice_between_shapes_keeps_the_shape_chosen_while_it_is_empty() -> None:
    condition = STEP_KINDS["condition"]
    choice = next(f for f in fields_of(condition, {"id": "c"}) if f.widget == "choice")
    assert (choice.name, choice.options) == (
        "f.check:shape",
        ("has tag", "field compare", "had event"),
    )
    read, _ = read_form(condition, {"f.id": "c", "f.check:shape": "2"})
    shown = fields_of(condition, read)
    assert [f.value for f in shown if f.widget == "choice"] == [2]
    assert "check.happened.event" in {f.path for f in shown}
    # What the language says of the shape chosen, and of no other.
    problems = _problems({"tracks": [{"id": "t", "steps": [{**read, "kind": "condition"}]}]})
    assert [(p["field"], p["message"]) for p in problems] == [
        ("check.happened.event", "Field required")
    ]
