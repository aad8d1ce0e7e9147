"""The request body size limit, enforced before a body is read into memory."""

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response

# Sequence definitions are the largest legitimate bodies: an email's text part may hold 100,000
# characters and its HTML 500,000 (sequences/actions.py), which fits with room to spare as UTF-8.
MAX_BODY_BYTES = 1024 * 1024
CONTENT_TOO_LARGE = 413


def too_large(limit: int) -> str:
    mebibytes = f" ({limit / 2**20:g} MiB)" if limit >= 2**20 else ""
    return (
        f"the request body is over the limit of {limit:,} bytes{mebibytes}; "
        "send a smaller body, or split the work into several requests"
    )


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; an HTTPException so that FastAPI answers it with its
    detail, rather than as a body it could not parse."""

    def __init__(self, limit: int) -> None:
        super().__init__(CONTENT_TOO_LARGE, too_large(limit))


class BodySizeLimit:
    """Refuses a declared Content-Length over the limit at once, and counts the bytes of a body
    sent without one (chunked), stopping the request as soon as they pass the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Normally answered by FastAPI's handler; this catches a body read outside a route.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(CONTENT_TOO_LARGE, too_large(self.limit))
        await response(scope, receive, send)


def install_body_limit(app: FastAPI) -> None:
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
