"""Merge fields: `{{ contact.first_name }}` placeholders in communication templates."""

import re
from collections.abc import Mapping

MERGE_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")

KNOWN_FIELDS = frozenset(
    {
        "contact.first_name",
        "contact.last_name",
        "contact.full_name",
        "contact.email",
        "contact.phone",
        "owner.name",
        "owner.email",
        "company.name",
    }
)
# Custom fields are open-ended: any `contact.fields.<name>` is accepted and renders empty if unset.
CUSTOM_FIELD = re.compile(r"^contact\.fields\.[A-Za-z_][A-Za-z0-9_]{0,63}$")


def merge_fields_in(template: str) -> list[str]:
    return MERGE_FIELD.findall(template)


def check_merge_fields(template: str) -> str:
    unknown = sorted(
        name
        for name in set(merge_fields_in(template)) - KNOWN_FIELDS
        if not CUSTOM_FIELD.match(name)
    )
    if unknown:
        raise ValueError(
            f"unknown merge field(s) {', '.join(unknown)}; "
            f"known fields are {', '.join(sorted(KNOWN_FIELDS))} and contact.fields.<name>"
        )
    return template


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace every merge field with its value; a field with no value renders empty."""
    return MERGE_FIELD.sub(lambda match: values.get(match.group(1), ""), template)
