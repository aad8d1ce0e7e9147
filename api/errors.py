"""One small family of domain errors, mapped to HTTP by one handler; FastAPI's own answers to
requests it cannot read, written the same way; and the OpenAPI description of them all."""

import json
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from store.db import Refusal

Model = TypeVar("Model", bound=BaseModel)


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404

    @classmethod
    def of(cls, kind: str, id: object) -> "NotFound":
        return cls(f"{kind} {id} not found")


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class Unavailable(DomainError):
    """A part the answer depends on is down for a moment: nothing was changed, send it again."""

    status_code = 503


class _ErrorJSON(JSONResponse):
    """Errors may quote what the client sent, which can hold text UTF-8 cannot encode (unpaired
    surrogates, from `\\ud800` escapes): written as ASCII JSON, it is escaped, not a 500."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode()


def problem_response(
    status: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """Every error answer, in the one shape of RFC 9457 problem details: `detail` always says in
    a sentence what to fix; `errors` lists the fields at fault where there are several."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return _ErrorJSON(jsonable_encoder(body), status_code=status, headers=headers)


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    """Pydantic's errors as one sentence, each led by the path of the field at fault."""
    return "; ".join(
        f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}" for error in errors
    )


def parse_body(model: type[Model], raw: bytes, what: str) -> Model:
    """A body read raw (signed, or sent as text/plain by browsers), checked against its model
    as FastAPI would check a JSON body."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        raise Invalid(f"invalid {what}: {describe(problems)}", errors=problems) from None


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return problem_response(exc.status_code, exc.message, headers, **exc.extra)


async def _malformed(_: Request, exc: Exception) -> JSONResponse:
    """A request that does not fit the schema. Pydantic's echo of the input is left out: it may
    be a whole body, large, nested deep, or holding what could not be stored."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_response(422, describe(errors), errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (unknown route, wrong method, body over the limit) in the same
    shape; a JSON body FastAPI cannot read at all (not UTF-8, nested too deeply) says why."""
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if exc.status_code == 400 and cause is not None:
        if isinstance(cause, UnicodeDecodeError):
            message = f"the body is not UTF-8 text ({cause}); send JSON encoded as UTF-8"
        elif isinstance(cause, RecursionError):
            message = "the body is nested too deeply to read; flatten it"
        else:
            message = f"the body cannot be read as JSON: {str(cause) or type(cause).__name__}"
        errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
        return problem_response(422, f"body: {message}", errors=errors)
    return problem_response(exc.status_code, str(exc.detail), exc.headers)


_KEY_EXISTS = re.compile(r"Key \((?P<columns>.+?)\)=\((?P<values>.*)\) already exists")


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """What PostgreSQL refuses, mapped once for every route: a unique violation (two requests
    racing to create the same thing) is a conflict, a value too long is the caller's to fix,
    and a database that cannot be reached is a 503 to retry, never a bare 500."""
    assert isinstance(exc, DBAPIError)
    sqlstate, primary, detail = Refusal.of(exc)
    if sqlstate == "23505":
        key = _KEY_EXISTS.match(detail)
        what = f"{key['columns']} {key['values']!r}" if key else "a record with these values"
        return problem_response(
            409, f"{what} already exists; use another value, or change the existing record"
        )
    if sqlstate == "23503":
        return problem_response(
            409, f"a record this refers to does not exist or was just removed ({detail or primary})"
        )
    if sqlstate.startswith("23"):
        return problem_response(409, f"the records' rules do not allow this: {primary}")
    if sqlstate == "22001":
        return problem_response(422, f"a value is too long to store: {primary}")
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return problem_response(
            503, "the database is unavailable; try again shortly", {"Retry-After": "5"}
        )
    raise exc


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    """A bug, in the same shape; the server's error middleware logs it with its traceback."""
    return problem_response(500, "the server failed to answer; try again, or report the time")


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(DomainError, _handle)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    _describe_problems(app)


def _describe_problems(app: FastAPI) -> None:
    """The routes' error answers refer to `Problem` by reference (below), since FastAPI files a
    response model under application/json only; the schema itself is added here, once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()  # which keeps it as app.openapi_schema
            definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(definitions.pop("$defs", {}))
            components["Problem"] = definitions
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class Problem(BaseModel):
    """Every error answer (RFC 9457 problem details). `detail` says what to fix, with the path of
    each field at fault; `errors` lists those fields one by one where the request had several
    (a request that does not fit the schema, an invalid sequence's steps)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank")
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["contact 00000000-0000-0000-0000-000000000000 not found"])
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="Each part at fault: a field (`loc`, `msg`, `type`) or a step (`where`, `message`).",
    )


_DESCRIPTIONS = {
    401: "Missing, invalid or revoked API key",
    403: "The caller's role, or the record, does not allow this",
    404: "An unknown id",
    409: "The record's state does not allow this",
    413: "The request body is over the size limit",
    422: "Invalid input: which fields are at fault and what to fix",
    503: "The database is unavailable for a moment; try again",
}


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def problems(*codes: int, descriptions: dict[int, str] | None = None) -> dict[int | str, Any]:
    """OpenAPI `responses` for the error answers a router gives, with the default wording unless
    `descriptions` has the code's own."""
    wording = {**_DESCRIPTIONS, **(descriptions or {})}
    return {
        code: {
            "description": wording[code],
            "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
        }
        for code in codes
    }
