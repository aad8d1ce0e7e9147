"""A form for any part of the sequence language, made from its own JSON schema, so a new step
kind needs no form of its own. Each field is named by its path in the JSON ("then.go_to"); what
the form sends is read back into the JSON the language parses, and its problems are shown at
the field of the same path."""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

PREFIX = "f."
# The field naming which shape a choice between shapes takes: "f.check:shape".
SHAPE = ":shape"
# Read first and last: who the step is, then what it does, then where it goes.
FIRST, LAST = ("id", "name"), ("then", "note")
SCALARS = {"string", "integer", "number", "boolean"}
LONG_TEXT = 1000
MISSING: Any = object()
# A required field left empty: sent as "" (for the language to say it is needed), unless its
# whole group is empty, which then takes its default.
BLANK: Any = object()


@dataclass(frozen=True)
class FormField:
    path: str
    label: str
    widget: str  # text, textarea, number, checkbox, select, scalar, lines, json, group, choice
    value: Any = ""
    options: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""
    placeholder: str = ""
    depth: int = 0

    @property
    def name(self) -> str:
        return PREFIX + self.path + (SHAPE if self.widget == "choice" else "")

    @property
    def slot(self) -> str:
        """The id of the place the field's problems are shown in."""
        return "problem-" + self.path.replace(".", "--")


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def fields_of(
    model: type[BaseModel], value: Mapping[str, Any], skip: tuple[str, ...] = ()
) -> list[FormField]:
    """The form for `value`, a JSON object the model reads; without the properties in `skip`."""
    schema = _schema(model)
    return list(_object_fields(schema, schema.get("$defs", {}), "", value, 0, skip))


def read_form(
    model: type[BaseModel], form: Mapping[str, str], skip: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What the form sends, as the JSON object the model reads (fields left empty take their
    defaults), and the fields that could not be read at all, with why."""
    schema = _schema(model)
    problems: list[tuple[str, str]] = []
    value = _read_object(
        schema, schema.get("$defs", {}), "", form, problems, skip, keep_blanks=True
    )
    return (value if value is not MISSING else {}), problems


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _shape(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The widget a schema is edited with, and the schema it edits (an optional value's own:
    left empty, it takes its default)."""
    schema = _resolved(schema, defs)
    if "oneOf" in schema and all("properties" in shape for shape in _shapes(schema, defs)):
        return "choice", schema
    if "anyOf" in schema:
        variants = [_resolved(v, defs) for v in schema["anyOf"]]
        present = [v for v in variants if v.get("type") != "null"]
        if len(present) > 1:
            plain = all(v.get("type") in SCALARS and "enum" not in v for v in present)
            return ("scalar" if plain else "json"), schema
        schema = {**present[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    kind = schema.get("type")
    if "enum" in schema:
        return "select", schema
    if kind == "boolean":
        return "checkbox", schema
    if kind in ("integer", "number"):
        return "number", schema
    if kind == "string":
        return ("textarea" if schema.get("maxLength", 0) >= LONG_TEXT else "text"), schema
    if kind == "array":
        items = _resolved(schema.get("items", {}), defs)
        return ("lines" if items.get("type") == "string" else "json"), schema
    if kind == "object" and ("properties" in schema or _named_keys(schema)):
        return "group", schema
    return "json", schema


def _shapes(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """The shapes a choice may take (a condition's check: a tag, a field, an event)."""
    return [_resolved(shape, defs) for shape in schema["oneOf"]]


def _shape_of(shapes: list[dict[str, Any]], value: Any) -> int:
    """Which shape a value has: the first whose required properties it gives."""
    if isinstance(value, Mapping):
        for index, shape in enumerate(shapes):
            if set(shape.get("required", ())) <= set(value):
                return index
    return 0


def _named_keys(schema: dict[str, Any]) -> list[str]:
    """A map whose keys are a known few (a to-do's results) is a group of one field per key."""
    return list(schema.get("propertyNames", {}).get("enum", []))


def _properties(schema: dict[str, Any], skip: tuple[str, ...]) -> list[tuple[str, Any]]:
    if "properties" not in schema:
        return [(key, schema["additionalProperties"]) for key in _named_keys(schema)]
    properties = {k: v for k, v in schema["properties"].items() if "const" not in v}
    order = [k for k in FIRST if k in properties]
    order += [k for k in properties if k not in FIRST + LAST]
    order += [k for k in LAST if k in properties]
    return [(key, properties[key]) for key in order if key not in skip]


def _object_fields(
    schema: dict[str, Any],
    defs: dict[str, Any],
    prefix: str,
    value: Any,
    depth: int,
    skip: tuple[str, ...] = (),
) -> Iterator[FormField]:
    value = value if isinstance(value, Mapping) else {}
    required = set(schema.get("required", ()))
    for key, child in _properties(schema, skip):
        path = prefix + key
        widget, resolved = _shape(child, defs)
        shown = value.get(key, MISSING)
        label = key.replace("_", " ")
        hint = str(resolved.get("description", ""))
        placeholder = _placeholder(resolved)
        if widget == "group":
            # Only the field's own description: its type's would repeat at every use of it.
            hint = str(child.get("description", ""))
            yield FormField(path, label, widget, hint=hint, depth=depth)
            yield from _object_fields(resolved, defs, path + ".", shown, depth + 1)
            continue
        if widget == "choice":
            shapes = _shapes(resolved, defs)
            chosen = _shape_of(shapes, shown)
            titles = tuple(_title(shape) for shape in shapes)
            yield FormField(path, label, widget, chosen, titles, key in required, hint, "", depth)
            yield from _object_fields(shapes[chosen], defs, path + ".", shown, depth + 1)
            continue
        yield FormField(
            path,
            label,
            widget,
            _shown(widget, resolved, shown),
            tuple(resolved.get("enum", ())),
            key in required,
            hint,
            placeholder,
            depth,
        )


def _title(shape: dict[str, Any]) -> str:
    """A shape's name as a person reads it: HadEvent is "had event"."""
    title = str(shape.get("title", ""))
    return "".join(f" {c.lower()}" if c.isupper() else c for c in title).strip()


def _placeholder(schema: dict[str, Any]) -> str:
    default = schema.get("default")
    if schema.get("format") == "duration":
        return f"{default or ''} (ISO 8601: PT30M, PT2H, P3D)".lstrip()
    if default not in (None, "", [], {}) and not isinstance(default, dict | bool):
        return f"{default}"
    return ""


def _shown(widget: str, schema: dict[str, Any], value: Any) -> Any:
    if widget == "checkbox":
        return bool(schema.get("default", False) if value is MISSING else value)
    if value is MISSING or value is None:
        return ""
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if widget == "json" or (widget == "scalar" and not isinstance(value, str)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def _read_object(
    schema: dict[str, Any],
    defs: dict[str, Any],
    prefix: str,
    form: Mapping[str, str],
    problems: list[tuple[str, str]],
    skip: tuple[str, ...] = (),
    *,
    keep_blanks: bool = False,
) -> Any:
    required = set(schema.get("required", ()))
    read: dict[str, Any] = {}
    given = False
    for key, child in _properties(schema, skip):
        path = prefix + key
        widget, resolved = _shape(child, defs)
        if widget == "group":
            value = _read_object(resolved, defs, path + ".", form, problems)
            if value is MISSING and keep_blanks and key in required:
                value = {}  # for the language to name what it needs
        elif widget == "choice":
            shapes = _shapes(resolved, defs)
            sent = form.get(PREFIX + path + SHAPE, "")
            chosen = shapes[int(sent)] if sent.isdigit() and int(sent) < len(shapes) else shapes[0]
            # The shape chosen stays chosen while its fields are still empty.
            value = _read_object(chosen, defs, path + ".", form, problems, keep_blanks=True)
        else:
            value = _read_field(widget, form, path, key in required, problems)
        if value is MISSING:
            continue
        read[key] = value
        unchanged = widget == "checkbox" and value == resolved.get("default", False)
        given = given or not (value is BLANK or unchanged)
    if not given and not keep_blanks:
        return MISSING
    return {key: "" if value is BLANK else value for key, value in read.items()} or MISSING


def _read_field(
    widget: str,
    form: Mapping[str, str],
    path: str,
    required: bool,
    problems: list[tuple[str, str]],
) -> Any:
    if widget == "checkbox":
        return PREFIX + path in form
    sent = form.get(PREFIX + path, "")
    text = sent.strip() if widget != "textarea" else sent
    if not text.strip():
        return BLANK if required else MISSING
    if widget == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text  # the language says what is wrong with it
    if widget == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if widget == "scalar":
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return parsed if isinstance(parsed, int | float | bool) else text
    if widget == "json":
        try:
            return json.loads(text)
        except ValueError as error:
            problems.append((path, f"is not JSON: {error}"))
            return MISSING
    return text
