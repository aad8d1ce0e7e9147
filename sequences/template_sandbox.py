"""The Jinja2 environment templates run in, bounded so that no template can stall a process.

Jinja's sandbox keeps templates away from Python internals, but not from work: it folds
constant expressions while compiling (`{{ 10 ** (10 ** 8) }}` never finishes compiling), and
at render `range`, repetition and some filters can ask for billions of steps or bytes. Here:
- nothing is folded at compile time, so compiling costs only the template's length;
- `**`, `*` and `%` are checked before they run, and refused when the result would be huge;
- `range` yields at most RANGE_LIMIT items, and every loop over it, every call and every
  filter checks the render's deadline;
- filters that only make text wider (`center`, `format`, `indent` by a width, `wordwrap`) are
  bounded or left out, and `lipsum` is gone;
- a render stops once its output passes OUTPUT_LIMIT characters or its time passes
  RENDER_SECONDS.
"""

import contextvars
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.meta import TrackingCodeGenerator
from jinja2.sandbox import SandboxedEnvironment

RANGE_LIMIT = 10_000
OUTPUT_LIMIT = 1_000_000
# The largest integer an operator may produce, in bits (about 3,000 decimal digits).
INTEGER_BITS = 10_000
RENDER_SECONDS = 2.0

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


class TemplateLimit(SecurityError):
    """A template asked for more than a message may hold or a render may take."""


def check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimit(f"the template took longer than {RENDER_SECONDS:g} s to render")


def _checked_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > OUTPUT_LIMIT:
        raise TemplateLimit(f"a value in the template grew past {OUTPUT_LIMIT:,} characters")
    return value


def _bits(value: int) -> int:
    return abs(value).bit_length()


def _power(base: Any, exponent: Any) -> Any:
    integers = isinstance(base, int) and isinstance(exponent, int)
    if integers and abs(base) > 1 and exponent * math.log2(abs(base)) > INTEGER_BITS:
        raise TemplateLimit(f"{base} ** {exponent} is too large a number to compute")
    return base**exponent


def _times(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        repeated = isinstance(sequence, str | list | tuple) and isinstance(count, int)
        if repeated and len(sequence) * count > OUTPUT_LIMIT:
            raise TemplateLimit(
                f"repeating a value {count:,} times grows past {OUTPUT_LIMIT:,} characters"
            )
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and _bits(left) + _bits(right) > INTEGER_BITS
    ):
        raise TemplateLimit("the product is too large a number to compute")
    return left * right


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        # printf-style formatting: `'%0999999999d' % 1` asks for a billion characters.
        raise TemplateLimit("'%' formatting of text is not available in templates")
    return left % right


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {"**": _power, "*": _times, "%": _modulo}


def check_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > RANGE_LIMIT:
        raise TemplateLimit(f"range() gives at most {RANGE_LIMIT:,} numbers in a template")
    return numbers


def _range(*args: int) -> Iterator[int]:
    for number in check_range(*args):
        check_deadline()
        yield number


def _bounded_filter(name: str, apply: Callable[..., Any]) -> Callable[..., Any]:
    # Jinja reads @pass_context, @pass_eval_context and the like from this attribute, and
    # then passes that context first.
    passes = getattr(apply, "jinja_pass_arg", None)

    def filtered(*args: Any, **kwargs: Any) -> Any:
        check_deadline()
        value, *options = args[1:] if passes is not None else args
        replacement = str(options[1]) if name == "replace" and len(options) >= 2 else ""
        if len(str(value)) * len(replacement) > OUTPUT_LIMIT:
            raise TemplateLimit(f"replace() could grow the text past {OUTPUT_LIMIT:,} characters")
        if name in ("indent", "wordwrap", "truncate"):
            for width in (*options[:1], kwargs.get("width"), kwargs.get("length")):
                if isinstance(width, int) and width > 1000:
                    raise TemplateLimit(f"{name}() takes a width of at most 1000")
        return _checked_size(apply(*args, **kwargs))

    if passes is not None:
        filtered.jinja_pass_arg = passes  # type: ignore[attr-defined]
    return filtered


class _NoFolding(CodeGenerator):
    """Evaluates nothing while compiling but literal text; expressions run at render, bounded."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)


class _NoFoldingTracker(TrackingCodeGenerator):
    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)


def undeclared_names(tree: nodes.Template) -> set[str]:
    """`jinja2.meta.find_undeclared_variables`, without folding constants on the way."""
    tracker = _NoFoldingTracker(tree.environment)  # type: ignore[arg-type]
    tracker.visit(tree)
    return tracker.undeclared_identifiers


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


class BoundedEnvironment(SandboxedEnvironment):
    code_generator_class = _NoFolding
    intercepted_binops = frozenset(OPERATORS)

    def __init__(self, *, html: bool) -> None:
        # Chainable: a custom field the contact lacks renders empty instead of failing the step.
        super().__init__(
            undefined=ChainableUndefined,
            autoescape=html,
            keep_trailing_newline=True,
            finalize=_blank_if_none,
            optimized=False,
        )
        self.globals = {
            **{name: value for name, value in self.globals.items() if name != "lipsum"},
            "range": _range,
        }
        self.filters = {
            name: _bounded_filter(name, apply)
            for name, apply in self.filters.items()
            if name not in ("center", "format")
        }

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        return OPERATORS[operator](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        return _checked_size(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_deadline()
        return super().getattr(obj, attribute)


def bounded_render(template: Any, values: Mapping[str, Any]) -> str:
    """Render, stopping at the output and time limits."""
    token = _deadline.set(time.monotonic() + RENDER_SECONDS)
    try:
        written = 0
        parts = []
        for part in template.generate(values):
            written += len(part)
            if written > OUTPUT_LIMIT:
                raise TemplateLimit(f"the template renders past {OUTPUT_LIMIT:,} characters")
            parts.append(part)
            check_deadline()
        return "".join(parts)
    finally:
        _deadline.reset(token)
