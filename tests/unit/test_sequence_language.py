"""The pure sequence language: parsing, validation messages and merge fields. No I/O, no clock.

Designers see the `DefinitionError.errors` entries directly, so these tests pin both where an
error is reported (step id and position, field) and that its message says what to do.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from sequences import MAX_DELAY, ApplyTagStep, DelayStep, EmailStep, SequenceDefinition
from sequences.merge import KNOWN_FIELDS
from sequences.validation import DefinitionError, parse_definition

VALID: dict[str, Any] = {
    "notes": "Onboarding",
    "tracks": [
        {
            "id": "main",
            "name": "Main track",
            "steps": [
                {"id": "wait", "kind": "delay", "duration": "PT5S"},
                {
                    "id": "welcome",
                    "kind": "email",
                    "subject": "Welcome, {{ contact.first_name }}",
                    "body": "Hello {{contact.full_name}}, reach us any time.",
                },
                {"id": "tagged", "kind": "apply_tag", "tag": "welcomed"},
            ],
        }
    ],
}

WAIT = "step 'wait' (tracks[0].steps[0])"
WELCOME = "step 'welcome' (tracks[0].steps[1])"
TAGGED = "step 'tagged' (tracks[0].steps[2])"


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def step(raw: dict[str, Any], index: int, track: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = raw["tracks"][track]["steps"][index]
    return result


def errors_of(raw: Any) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(raw)
    return caught.value.errors


def only_error(raw: Any) -> dict[str, Any]:
    errors = errors_of(raw)
    assert len(errors) == 1, errors
    return errors[0]


# --- valid definitions ------------------------------------------------------------------------


def test_valid_delay_email_apply_tag_definition_parses() -> None:
    definition = parse_definition(valid())

    assert isinstance(definition, SequenceDefinition)
    assert definition.notes == "Onboarding"
    [track] = definition.tracks
    assert (track.id, track.name) == ("main", "Main track")
    wait, welcome, tagged = track.steps
    assert isinstance(wait, DelayStep)
    assert wait.id == "wait"
    assert wait.duration == timedelta(seconds=5)
    assert isinstance(welcome, EmailStep)
    assert welcome.subject == "Welcome, {{ contact.first_name }}"
    assert welcome.body == "Hello {{contact.full_name}}, reach us any time."
    assert isinstance(tagged, ApplyTagStep)
    assert tagged.tag == "welcomed"


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("PT5S", timedelta(seconds=5)),
        ("P3D", timedelta(days=3)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
    ],
)
def test_iso_8601_duration_becomes_timedelta(iso: str, expected: timedelta) -> None:
    raw = valid()
    step(raw, 0)["duration"] = iso

    wait = parse_definition(raw).tracks[0].steps[0]

    assert isinstance(wait, DelayStep)
    assert wait.duration == expected


def test_duration_of_exactly_the_maximum_is_accepted() -> None:
    raw = valid()
    step(raw, 0)["duration"] = f"P{MAX_DELAY.days}D"

    wait = parse_definition(raw).tracks[0].steps[0]

    assert isinstance(wait, DelayStep)
    assert wait.duration == MAX_DELAY


def test_tag_is_stripped_of_surrounding_whitespace() -> None:
    raw = valid()
    step(raw, 2)["tag"] = "  vip  "

    tagged = parse_definition(raw).tracks[0].steps[2]

    assert isinstance(tagged, ApplyTagStep)
    assert tagged.tag == "vip"


@pytest.mark.parametrize("duration", ["PT5S", "P3D", "PT1H30M"])
def test_json_dump_round_trips_through_parse_definition(duration: str) -> None:
    raw = valid()
    step(raw, 0)["duration"] = duration
    raw["tracks"].append(
        {"id": "side", "steps": [{"id": "side-tag", "kind": "apply_tag", "tag": "side"}]}
    )
    definition = parse_definition(raw)

    dumped = definition.model_dump(mode="json")
    again = parse_definition(dumped)

    assert isinstance(dumped["tracks"][0]["steps"][0]["duration"], str)
    assert again == definition
    assert again.model_dump(mode="json") == dumped


def test_step_ids_lists_ids_of_all_tracks_in_order() -> None:
    raw = valid()
    raw["tracks"].append(
        {
            "id": "side",
            "steps": [
                {"id": "side-wait", "kind": "delay", "duration": "P1D"},
                {"id": "side-tag", "kind": "apply_tag", "tag": "side"},
            ],
        }
    )

    definition = parse_definition(raw)

    assert definition.step_ids() == ["wait", "welcome", "tagged", "side-wait", "side-tag"]


# --- rejections: durations --------------------------------------------------------------------


@pytest.mark.parametrize("duration", ["PT0S", "P0D", "-PT5S", "-P1D"])
def test_zero_or_negative_duration_is_rejected(duration: str) -> None:
    raw = valid()
    step(raw, 0)["duration"] = duration

    error = only_error(raw)

    assert error["where"] == WAIT
    assert error["field"] == "duration"
    assert "positive duration" in error["message"]
    assert "PT30M" in error["message"]  # an example of what to write instead


@pytest.mark.parametrize("duration", [f"P{MAX_DELAY.days + 1}D", "P100Y"])
def test_duration_over_ten_years_is_rejected(duration: str) -> None:
    raw = valid()
    step(raw, 0)["duration"] = duration

    error = only_error(raw)

    assert error["where"] == WAIT
    assert error["field"] == "duration"
    assert "at most ten years" in error["message"]


# --- rejections: step kinds and properties ----------------------------------------------------


def test_unknown_step_kind_is_rejected_listing_allowed_kinds() -> None:
    raw = valid()
    step(raw, 1)["kind"] = "carrier_pigeon"

    error = only_error(raw)

    assert error["where"] == WELCOME
    assert "unknown step kind" in error["message"]
    for kind in ("'delay'", "'email'", "'apply_tag'"):
        assert kind in error["message"]


def test_missing_kind_is_rejected() -> None:
    raw = valid()
    del step(raw, 1)["kind"]

    error = only_error(raw)

    assert error["where"] == WELCOME
    assert error["field"] == "kind"
    assert error["message"] == "every step needs a kind"


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("placeholder", ["{{ contact.nickname }}", "{{contact.nickname}}"])
def test_unknown_merge_field_is_rejected_naming_it_and_the_known_ones(
    field: str, placeholder: str
) -> None:
    raw = valid()
    step(raw, 1)[field] = f"Hi {placeholder}"

    error = only_error(raw)

    assert error["where"] == WELCOME
    assert error["field"] == field
    assert "unknown merge field(s) contact.nickname" in error["message"]
    for known in KNOWN_FIELDS:
        assert known in error["message"]


def test_empty_subject_is_rejected() -> None:
    raw = valid()
    step(raw, 1)["subject"] = ""

    error = only_error(raw)

    assert error["where"] == WELCOME
    assert error["field"] == "subject"
    assert "at least 1 character" in error["message"]


@pytest.mark.parametrize("tag", ["", "   ", "\t\n"])
def test_empty_or_whitespace_only_tag_is_rejected(tag: str) -> None:
    raw = valid()
    step(raw, 2)["tag"] = tag

    error = only_error(raw)

    assert error["where"] == TAGGED
    assert error["field"] == "tag"
    assert "at least 1 character" in error["message"]


def test_unknown_property_on_a_step_is_rejected() -> None:
    raw = valid()
    step(raw, 1)["subjet"] = "Typo of subject"

    error = only_error(raw)

    assert error["where"] == WELCOME
    assert error["field"] == "subjet"
    assert "not permitted" in error["message"]


# --- rejections: ids and structure ------------------------------------------------------------


def test_duplicate_step_id_within_a_track_is_rejected() -> None:
    raw = valid()
    step(raw, 2)["id"] = "wait"

    error = only_error(raw)

    assert error["where"] == "step 'wait' (tracks[0].steps[2])"
    assert error["field"] == "id"
    assert "'wait' is used twice" in error["message"]
    assert "unique" in error["message"]


def test_duplicate_step_id_across_tracks_is_rejected() -> None:
    raw = valid()
    raw["tracks"].append(
        {"id": "side", "steps": [{"id": "welcome", "kind": "apply_tag", "tag": "side"}]}
    )

    error = only_error(raw)

    assert error["where"] == "step 'welcome' (tracks[1].steps[0])"
    assert error["field"] == "id"
    assert "'welcome' is used twice" in error["message"]


def test_duplicate_track_id_is_rejected() -> None:
    raw = valid()
    raw["tracks"].append(
        {"id": "main", "steps": [{"id": "other-tag", "kind": "apply_tag", "tag": "x"}]}
    )

    error = only_error(raw)

    assert "tracks[1]" in error["where"]
    assert error["field"] == "id"
    assert "track id 'main' is used twice" in error["message"]


@pytest.mark.parametrize("raw", [{"tracks": []}, {}], ids=["empty", "missing"])
def test_definition_without_tracks_is_rejected(raw: dict[str, Any]) -> None:
    error = only_error(raw)

    assert error["where"] == "sequence"
    assert error["field"] == "tracks"


def test_track_without_steps_is_rejected() -> None:
    raw = valid()
    raw["tracks"][0]["steps"] = []

    error = only_error(raw)

    assert error["where"] == "track 'main' (tracks[0])"
    assert error["field"] == "steps"
    assert "at least 1 item" in error["message"]


@pytest.mark.parametrize("bad_id", ["has space", "", "a" * 65, "wé", "a.b"])
def test_invalid_step_id_is_rejected(bad_id: str) -> None:
    raw = valid()
    step(raw, 1)["id"] = bad_id

    error = only_error(raw)

    assert error["where"] == f"step {bad_id!r} (tracks[0].steps[1])"
    assert error["field"] == "id"
    assert (
        error["message"] == f"{bad_id!r} is not a valid id: use 1 to 64 letters, digits, '-' or '_'"
    )


def test_invalid_track_id_is_rejected() -> None:
    raw = valid()
    raw["tracks"][0]["id"] = "has space"

    error = only_error(raw)

    assert error["where"] == "track 'has space' (tracks[0])"
    assert error["field"] == "id"


@pytest.mark.parametrize("raw", [[1, 2], "tracks", None, 42], ids=repr)
def test_non_dict_input_raises_definition_error(raw: Any) -> None:
    error = only_error(raw)

    assert error["where"] == "sequence"
    assert "dictionary" in error["message"]


def test_step_without_id_is_named_by_position() -> None:
    raw = valid()
    del step(raw, 1)["id"]

    error = only_error(raw)

    assert error["where"] == "step #2 (tracks[0].steps[1])"
    assert error["field"] == "id"
    assert "required" in error["message"].lower()


def test_every_problem_is_reported_with_its_own_step() -> None:
    raw = valid()
    step(raw, 0)["duration"] = "PT0S"
    step(raw, 2)["tag"] = ""

    errors = errors_of(raw)

    assert [(e["where"], e["field"]) for e in errors] == [(WAIT, "duration"), (TAGGED, "tag")]


def test_definition_error_message_joins_where_and_message() -> None:
    raw = valid()
    step(raw, 0)["duration"] = "PT0S"

    with pytest.raises(DefinitionError) as caught:
        parse_definition(raw)

    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{WAIT}: must be a positive duration")


@pytest.mark.parametrize(
    "where",
    ["sender", "send_to"],
)
def test_a_line_break_in_a_header_value_is_refused_at_publish(where: str) -> None:
    raw = valid()
    if where == "sender":
        raw["settings"] = {"sending": {"sender": {"name": "Acme\r\nBcc: leak@example.com"}}}
    else:
        step(raw, 1)["send_to"] = {"who": "address", "address": "a@example.com\nBcc: b@example.com"}
    error = only_error(raw)
    assert "must be one line: no line breaks" in error["message"], error


@pytest.mark.parametrize("duration", ["PT5X", "5 minutes", 300, 1.5, "P", "PT", "1:00:00"])
def test_a_duration_that_is_not_iso_8601_text_is_refused_naming_the_field(duration: Any) -> None:
    raw = valid()
    step(raw, 0)["duration"] = duration
    error = only_error(raw)
    assert error["message"] == (
        f"duration: {duration!r} is not an ISO 8601 duration; write it like PT30M (30 minutes), "
        "PT2H (2 hours), P3D (3 days) or P1DT12H"
    ), error


def test_every_step_kind_belongs_to_one_family() -> None:
    from typing import get_args

    from sequences import FAMILIES, FAMILY_OF_KIND, Step

    kinds = [str(step.model_fields["kind"].default) for step in get_args(get_args(Step)[0])]
    assert sorted(kinds) == sorted(FAMILY_OF_KIND)
    assert sum(len(steps) for steps in FAMILIES.values()) == len(kinds)
