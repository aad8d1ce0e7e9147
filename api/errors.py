"""One small family of domain errors, mapped to HTTP by one handler."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(
        {"detail": exc.message, **exc.extra}, status_code=exc.status_code, headers=headers
    )


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _handle)
