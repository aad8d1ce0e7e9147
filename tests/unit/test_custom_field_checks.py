"""Definitions checked against declared custom fields and their types."""

from typing import Any

import pytest

from sequences import DefinitionError, parse_definition, value_fits

FIELDS = {"birthday": "date", "seats": "number", "plan": "text", "vip": "boolean"}


def _errors(step: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as raised:
        parse_definition({"tracks": [{"id": "main", "steps": [step]}]}, FIELDS)
    return [(e["field"], e["message"]) for e in raised.value.errors]


def test_steps_using_declared_fields_of_the_right_type_pass() -> None:
    steps = [
        {"id": "bday", "kind": "field_timer", "field": "birthday", "yearly": True},
        {"id": "set", "kind": "set_field", "field": "seats", "value": 12},
        {"id": "name", "kind": "set_field", "field": "first_name", "value": "Ada"},
        {
            "id": "when",
            "kind": "condition",
            "check": {"field": "plan", "op": "equals", "value": "Gold"},
        },
        {"id": "mail", "kind": "email", "subject": "{{ contact.fields.plan }}", "body": "b"},
    ]
    definition = parse_definition({"tracks": [{"id": "main", "steps": steps}]}, FIELDS)
    assert len(definition.tracks[0].steps) == 5


def test_a_field_timer_needs_a_declared_date_field() -> None:
    assert _errors({"id": "t", "kind": "field_timer", "field": "seats"}) == [
        ("field", "'seats' is a number field; a field timer needs a date field")
    ]
    assert _errors({"id": "t", "kind": "field_timer", "field": "anniversary"}) == [
        ("field", "there is no custom field 'anniversary'; declare it first (POST /custom-fields)")
    ]


def test_set_field_values_must_fit_the_field() -> None:
    assert _errors({"id": "s", "kind": "set_field", "field": "seats", "value": "many"}) == [
        ("value", "'many' does not fit 'seats', a number field")
    ]
    assert _errors({"id": "s", "kind": "set_field", "field": "nope", "value": 1})[0][0] == "field"


def test_conditions_and_merge_fields_name_undeclared_fields() -> None:
    condition = {"id": "c", "kind": "condition", "check": {"field": "tier", "op": "is_set"}}
    assert _errors(condition)[0][0] == "check.field"
    assert _errors({"id": "m", "kind": "sms", "text": "{{ contact.fields.tier }}"}) == [
        ("template", "there is no custom field 'tier'; declare it first (POST /custom-fields)")
    ]


@pytest.mark.parametrize(
    ("kind", "value", "fits"),
    [
        ("date", "2026-02-28", True),
        ("date", "2026-02-30", False),
        ("date", 20260228, False),
        ("number", 3.5, True),
        ("number", True, False),
        ("number", "3", False),
        ("boolean", False, True),
        ("text", "x", True),
        ("text", 3, False),
    ],
)
def test_value_fits(kind: str, value: Any, fits: bool) -> None:
    assert value_fits(kind, value) is fits
