"""Validation of communication and process steps."""

from typing import Any

import pytest

from sequences import DefinitionError, parse_definition


def _errors(step: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as raised:
        parse_definition({"tracks": [{"id": "main", "steps": [step]}]})
    return raised.value.errors


def _valid(step: dict[str, Any]) -> Any:
    return parse_definition({"tracks": [{"id": "main", "steps": [step]}]}).tracks[0].steps[0]


def test_staff_can_be_notified_by_email_and_by_number() -> None:
    email = _valid(
        {"id": "n", "kind": "email", "subject": "s", "body": "b", "send_to": {"who": "owner"}}
    )
    assert email.send_to.who == "owner"
    sms = _valid(
        {
            "id": "n",
            "kind": "sms",
            "text": "t",
            "send_to": {"who": "address", "address": "+15550100"},
        }
    )
    assert sms.send_to.address == "+15550100"


def test_recipient_mistakes_are_named() -> None:
    [error] = _errors({"id": "n", "kind": "sms", "text": "t", "send_to": {"who": "owner"}})
    assert "a sms to a staff member needs send_to.who 'address'" in error["message"]
    [error] = _errors(
        {"id": "n", "kind": "email", "subject": "s", "body": "b", "send_to": {"who": "address"}}
    )
    assert error["field"] == "send_to"
    assert "give address exactly when who is 'address'" in error["message"]


def test_merge_fields_of_owner_company_and_custom_fields_are_known() -> None:
    step = _valid(
        {
            "id": "n",
            "kind": "letter",
            "body": "{{ owner.name }} {{ company.name }} {{ contact.fields.plan }}",
        }
    )
    assert step.kind == "letter"
    [error] = _errors({"id": "n", "kind": "sms", "text": "{{ owner.shoe_size }}"})
    assert "unknown merge field(s) owner.shoe_size" in error["message"]


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"id": "o", "kind": "order", "items": []}, "items"),
        (
            {
                "id": "o",
                "kind": "order",
                "items": [{"name": "x", "quantity": 0, "unit_price": "1"}],
            },
            "items.0.quantity",
        ),
        (
            {
                "id": "o",
                "kind": "order",
                "items": [{"name": "x", "quantity": 1, "unit_price": "-1"}],
            },
            "items.0.unit_price",
        ),
        ({"id": "r", "kind": "assign_owner", "round_robin": []}, "round_robin"),
        ({"id": "h", "kind": "http_post", "url": "not a url"}, "url"),
        ({"id": "s", "kind": "set_field", "field": "bad field", "value": 1}, "field"),
        (
            {
                "id": "a",
                "kind": "appointment",
                "title": "t",
                "starts_in": "P1D",
                "duration": "PT0S",
            },
            "duration",
        ),
        ({"id": "p", "kind": "opportunity", "title": "t", "value": "-5"}, "value"),
    ],
)
def test_process_mistakes_name_the_field(step: dict[str, Any], field: str) -> None:
    assert field in {e["field"] for e in _errors(step)}


def test_order_amounts_are_exact_decimals() -> None:
    order = _valid(
        {
            "id": "o",
            "kind": "order",
            "items": [{"name": "Seat", "quantity": 3, "unit_price": "10.10"}],
        }
    )
    assert str(order.items[0].unit_price * order.items[0].quantity) == "30.30"


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"id": "c", "kind": "sms", "text": ""}, "text"),
        ({"id": "c", "kind": "sms", "text": "x" * 1601}, "text"),
        ({"id": "c", "kind": "voice", "script": ""}, "script"),
        ({"id": "c", "kind": "fax", "body": "{{ contact.nickname }}"}, "body"),
        ({"id": "c", "kind": "letter", "body": ""}, "body"),
        ({"id": "c", "kind": "note", "body": ""}, "body"),
        ({"id": "c", "kind": "remove_tag", "tag": "  "}, "tag"),
        ({"id": "c", "kind": "create_task", "title": "t", "due_in": "-P1D"}, "due_in"),
        ({"id": "c", "kind": "fulfillment", "list_name": ""}, "list_name"),
    ],
)
def test_communication_and_record_mistakes_name_the_field(step: dict[str, Any], field: str) -> None:
    assert field in {e["field"] for e in _errors(step)}


def test_notes_on_the_sequence_and_its_steps_are_kept() -> None:
    raw = {
        "notes": "Audience: trial users. Call to action: book a demo.",
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {"id": "a", "kind": "note", "body": "b", "note": "Why: context for reps"}
                ],
            }
        ],
    }
    definition = parse_definition(raw)
    assert definition.notes.startswith("Audience")
    assert (
        definition.model_dump(mode="json")["tracks"][0]["steps"][0]["note"]
        == "Why: context for reps"
    )
