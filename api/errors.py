"""One small family of domain errors, mapped to HTTP by one handler; FastAPI's own answers to
requests it cannot read, written the same way; and the OpenAPI description of them all."""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException


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


class _ErrorJSON(JSONResponse):
    """Errors may quote what the client sent, which can hold text UTF-8 cannot encode (unpaired
    surrogates, from `\\ud800` escapes): written as ASCII JSON, it is escaped, not a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode()


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return _ErrorJSON(
        {"detail": exc.message, **exc.extra}, status_code=exc.status_code, headers=headers
    )


async def _malformed(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own answer to a request that does not fit the schema, but for its echo of a
    whole body, which may be large, nested deep, or hold what could not be stored."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {k: v for k, v in error.items() if k != "input"}
        if tuple(error["loc"]) == ("body",)
        else error
        for error in exc.errors()
    ]
    return _ErrorJSON({"detail": jsonable_encoder(errors)}, status_code=422)


async def _unreadable_body(request: Request, exc: Exception) -> Response:
    """FastAPI answers a JSON body it cannot read at all (not UTF-8, nested too deeply) with a
    bare 400 "There was an error parsing the body"; say what is wrong, as for any bad JSON."""
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return await http_exception_handler(request, exc)
    if isinstance(cause, UnicodeDecodeError):
        message = f"the body is not UTF-8 text ({cause}); send JSON encoded as UTF-8"
    elif isinstance(cause, RecursionError):
        message = "the body is nested too deeply to read; flatten it"
    else:
        message = f"the body cannot be read as JSON: {str(cause) or type(cause).__name__}"
    problem = {"type": "json_invalid", "loc": ["body"], "msg": message}
    return _ErrorJSON({"detail": [problem]}, status_code=422)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _handle)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(HTTPException, _unreadable_body)


class Problem(BaseModel):
    """A DomainError's answer: `detail` says what to fix; some errors add more, such as an
    invalid sequence's `errors` (each with the step and field at fault)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(examples=["contact 00000000-0000-0000-0000-000000000000 not found"])


class FieldProblem(BaseModel):
    """One part of the request at fault: where (`loc`), what is wrong (`msg`), and its `type`."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class MalformedRequest(BaseModel):
    """A request that does not fit the schema (types, required fields, lengths, formats)."""

    detail: list[FieldProblem]


_DESCRIPTIONS = {
    401: "Missing, invalid or revoked API key",
    403: "The caller's role, or the record, does not allow this",
    404: "An unknown id",
    409: "The record's state does not allow this",
    413: "The request body is over the size limit",
    422: "Invalid input: a list of the fields at fault, or a sentence saying what to fix",
}


def problems(*codes: int, descriptions: dict[int, str] | None = None) -> dict[int | str, Any]:
    """OpenAPI `responses` for the error answers a router gives, with the default wording unless
    `descriptions` has the code's own."""
    wording = {**_DESCRIPTIONS, **(descriptions or {})}
    return {
        code: {
            "model": Problem | MalformedRequest if code == 422 else Problem,
            "description": wording[code],
        }
        for code in codes
    }
