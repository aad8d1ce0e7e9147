import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]

# Version numbers are 32-bit integers in the database; a larger one would fail there, not here.
MAX_VERSION = 2**31 - 1
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A published version.")]

_SURROGATE = re.compile("[\ud800-\udfff]")
# Free-form objects (custom fields, event data) nest this deep at most: deeper ones could be
# stored but not written back out (serializers give up a few hundred levels down).
MAX_NESTING = 32


def unstorable(value: Any, where: str = "", depth: int = 0) -> str | None:
    """What JSON lets through but the API cannot store and give back, anywhere in `value` (keys
    too), and where it is: NUL characters, unpaired surrogates (`\\ud800` escapes), NaN and
    Infinity, objects nested too deeply. None when there is nothing of the kind."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where or 'text'}: text cannot contain NUL characters (\\u0000); remove them"
        if _SURROGATE.search(value):
            return (
                f"{where or 'text'}: text cannot contain unpaired surrogates (\\ud800 to "
                "\\udfff); send valid Unicode"
            )
    elif isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'value'}: {value} is not a JSON number; send a finite number"
    elif isinstance(value, dict | list) and depth >= MAX_NESTING:
        return f"{where or 'body'}: nested more than {MAX_NESTING} levels deep; flatten it"
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable(key, f"a key in {where}" if where else "a key") or unstorable(
                item, f"{where}.{key}" if where else str(key), depth + 1
            )
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = unstorable(item, f"{where}[{index}]", depth + 1)
            if problem:
                return problem
    return None


class RequestBody(BaseModel):
    """A request body: besides its fields' own rules, all its text (free-form objects included)
    must be storable, so a bad character is refused here, naming where, not failing later."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem:
            raise ValueError(problem)
        return data


def _storable_text(value: str) -> str:
    problem = unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


# Text from a path or a query string, which may carry %00.
Text = Annotated[str, AfterValidator(_storable_text)]


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_8601(value: Any) -> Any:
    """Pydantic would also read a number as a Unix time; the API takes ISO 8601 text only."""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise ValueError("give an ISO 8601 date or date-time, e.g. 2026-01-31T17:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_8601)]
Day = Annotated[date, BeforeValidator(_iso_8601)]
