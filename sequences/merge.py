"""Templates with merge fields: `{{ contact.first_name }}` in communications, notes and titles.

Templates are Jinja2 run in its sandbox: designers get conditions and filters
(`{% if contact.fields.vip %}`, `{{ contact.first_name | default("there") }}`), while a template
cannot reach Python internals, and merged values are inserted as text, never evaluated again.
HTML templates escape every value.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, nodes

from sequences.template_sandbox import (
    OPERATORS,
    BoundedEnvironment,
    TemplateLimit,
    bounded_render,
    check_range,
    undeclared_names,
)

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
ROOTS = frozenset(field.split(".")[0] for field in KNOWN_FIELDS)
CUSTOM_FIELDS = "contact.fields"


class TemplateRenderError(Exception):
    """A template that cannot be rendered; retrying will not help (retry policies name it)."""


_TEXT = BoundedEnvironment(html=False)
_HTML = BoundedEnvironment(html=True)


def _dotted(node: nodes.Node) -> str | None:
    """`contact.fields.vip` for attribute (or constant-key item) chains starting at a name."""
    match node:
        case nodes.Name(name=name):
            return str(name)
        case nodes.Getattr(node=inner, attr=attr):
            base = _dotted(inner)
            return f"{base}.{attr}" if base else None
        case nodes.Getitem(node=inner, arg=nodes.Const(value=str() as key)):
            base = _dotted(inner)
            return f"{base}.{key}" if base else None
    return None


def _references(node: nodes.Node) -> Iterator[str]:
    """Every dotted name the template reads, outermost chains only, in order."""
    dotted = _dotted(node) if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name) else None
    if dotted is not None:
        yield dotted
        return
    for child in node.iter_child_nodes():
        yield from _references(child)


def _private_attributes(tree: nodes.Template) -> list[str]:
    found = [node.attr for node in tree.find_all(nodes.Getattr) if node.attr.startswith("_")]
    found += [
        node.arg.value
        for node in tree.find_all(nodes.Getitem)
        if isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
        and node.arg.value.startswith("_")
    ]
    return found


def _refuse_what_cannot_finish(tree: nodes.Template) -> None:
    """What the render would refuse on every attempt, refused at publish: operators on
    constants past their limits (`10 ** (10 ** 8)`, `'a' * 10**9`), a constant range too long."""
    try:
        for node in tree.find_all(nodes.BinExpr):
            _constant(node)
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "range":
                bounds = [_constant(arg) for arg in call.args]
                if bounds and all(isinstance(bound, int) for bound in bounds):
                    check_range(*bounds)
    except TemplateLimit as limit:
        raise ValueError(f"the template cannot be rendered: {limit}") from None


def _constant(node: nodes.Node) -> Any:
    """The value of a literal, or of bounded operators on literals; None otherwise."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.BinExpr) and node.operator in OPERATORS:
        left, right = _constant(node.left), _constant(node.right)
        if left is not None and right is not None:
            return OPERATORS[node.operator](left, right)
    return None


def merge_fields_in(template: str) -> list[str]:
    """The merge fields a template reads, e.g. ["contact.first_name"]; [] if it does not parse."""
    try:
        tree = _TEXT.parse(template)
    except TemplateError:
        return []
    return [name for name in _references(tree) if name.split(".")[0] in ROOTS]


def _is_known(field: str) -> bool:
    if field in KNOWN_FIELDS:
        return True
    prefix, _, name = field.rpartition(".")
    return prefix == CUSTOM_FIELDS and name.isidentifier()


@lru_cache(maxsize=4096)
def check_merge_fields(template: str) -> str:
    """The template, if it parses and reads only known merge fields; a ValueError saying why not."""
    try:
        tree = _TEXT.parse(template)
        private = _private_attributes(tree)
        if private:
            raise ValueError(f"templates cannot read private attributes ({', '.join(private)})")
        _refuse_what_cannot_finish(tree)
        # Compiles (without running) the template: unknown filters and tests show here.
        names = undeclared_names(tree)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        message = str(error).splitlines()[0]
        raise ValueError(f"template error{f' on line {line}' if line else ''}: {message}") from None
    strangers = sorted(names - ROOTS - set(_TEXT.globals))
    if strangers:
        raise ValueError(
            f"unknown name(s) {', '.join(strangers)}; templates read contact, owner and company"
        )
    unknown = sorted({name for name in merge_fields_in(template) if not _is_known(name)})
    if unknown:
        raise ValueError(
            f"unknown merge field(s) {', '.join(unknown)}; "
            f"known fields are {', '.join(sorted(KNOWN_FIELDS))} and contact.fields.<name>"
        )
    return template


@lru_cache(maxsize=1024)
def _compiled(template: str, html: bool) -> Any:
    return (_HTML if html else _TEXT).from_string(template)


def render(template: str, values: Mapping[str, Any], *, html: bool = False) -> str:
    """The template with the values merged in; HTML templates escape each value."""
    try:
        return bounded_render(_compiled(template, html), values)
    # Anything a template raises while rendering (a sandbox refusal, calling a string) is the
    # template's fault, and the same on every attempt.
    except Exception as error:
        raise TemplateRenderError(f"the template could not be rendered: {error}") from error
