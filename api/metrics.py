"""Request metrics for Prometheus: latency by method, route template and status."""

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from api.deps import Operator
from api.errors import problems

router = APIRouter(tags=["operations"], responses=problems(401, 403))


def install_request_metrics(app: FastAPI) -> None:
    # One registry per app, so several apps in one process (tests) keep their own counts.
    registry = CollectorRegistry()
    latency = Histogram(
        "api_request_duration_seconds",
        "Time to answer an API request.",
        ["method", "route", "status"],
        registry=registry,
    )
    app.state.metrics_registry = registry

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500  # what the server's error middleware answers for a request that raised
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # The route's template, not the path: ids would make a series per contact.
            route = getattr(request.scope.get("route"), "path", "unmatched")
            latency.labels(request.method, route, str(status)).observe(
                time.perf_counter() - started
            )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, _: Operator) -> Response:
    """Request metrics in the Prometheus text format."""
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
