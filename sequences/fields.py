"""Checks of the contact fields a step uses against the declared custom fields and their types."""

from collections.abc import Iterator, Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from sequences.actions import SetFieldStep
from sequences.manual import ConditionStep, FieldCompare
from sequences.merge import merge_fields_in
from sequences.timers import FieldTimerStep

# Contact attributes every contact has; anything else is a custom field.
CONTACT_ATTRIBUTES = frozenset({"email", "phone", "fax", "first_name", "last_name", "timezone"})


class FieldType(StrEnum):
    text = "text"
    number = "number"
    date = "date"
    boolean = "boolean"


def value_fits(kind: str, value: Any) -> bool:
    """Whether a value can be stored in a custom field of this type."""
    match kind:
        case FieldType.number:
            return isinstance(value, int | float) and not isinstance(value, bool)
        case FieldType.boolean:
            return isinstance(value, bool)
        case FieldType.date:
            if not isinstance(value, str):
                return False
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                return False
            return True
    return isinstance(value, str)


def field_problems(step: BaseModel, fields: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(field, message) for each custom field the step uses that is undeclared or mistyped."""

    def unknown(name: str) -> str:
        return f"there is no custom field {name!r}; declare it first (POST /custom-fields)"

    if isinstance(step, FieldTimerStep):
        kind = fields.get(step.field)
        if kind is None:
            yield "field", unknown(step.field)
        elif kind != FieldType.date:
            yield "field", f"{step.field!r} is a {kind} field; a field timer needs a date field"
    if isinstance(step, SetFieldStep) and step.field not in CONTACT_ATTRIBUTES:
        kind = fields.get(step.field)
        if kind is None:
            yield "field", unknown(step.field)
        elif step.value is not None and not (
            value_fits(kind, step.value) or (isinstance(step.value, str) and "{{" in step.value)
        ):
            yield "value", f"{step.value!r} does not fit {step.field!r}, a {kind} field"
    if isinstance(step, ConditionStep) and isinstance(step.check, FieldCompare):
        name = step.check.field.removeprefix("fields.")
        if name not in CONTACT_ATTRIBUTES and name not in fields:
            yield "check.field", unknown(name)
    for merged in sorted(set(_merge_fields(step.model_dump()))):
        name = merged.removeprefix("contact.fields.")
        if name != merged and name not in fields:
            yield "template", unknown(name)


def _merge_fields(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from merge_fields_in(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _merge_fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from _merge_fields(item)
