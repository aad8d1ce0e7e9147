"""The FastAPI application: `uvicorn api.main:app`."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from api import metrics
from api.deps import AppState
from api.errors import install_error_handler, problems
from api.limits import install_body_limit
from api.metrics import install_request_metrics
from api.routes import (
    contacts,
    custom_fields,
    documents,
    enrollments,
    events,
    fulfillment,
    health,
    sequences,
    tasks,
    tracking,
    unsubscribe,
    users,
    visits,
    webhooks,
)
from settings import Settings, get_settings
from store.db import create_engine, create_sessionmaker
from web.app import install_web
from workflows.client import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or get_settings()
        config.require_link_secret()
        engine = create_engine(config.require_database_url())
        app.state.services = AppState(
            settings=config,
            sessionmaker=create_sessionmaker(engine),
            temporal=await connect(config),
        )
        # What is loaded by now (modules, schemas, routes, templates) lives as long as the
        # process: kept out of the collector's full passes, which walk every object and would
        # otherwise hold an answer up by a fifth of a second now and then.
        gc.freeze()
        yield
        await engine.dispose()

    app = FastAPI(
        title="Campaign sequences",
        summary="Design sequences, enroll contacts, and follow each enrollment.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Any request, whatever its route, is refused when its body is over the limit.
        responses=problems(413),
    )
    install_error_handler(app)
    install_body_limit(app)
    install_request_metrics(app)
    for module in (
        health,
        contacts,
        custom_fields,
        sequences,
        enrollments,
        tasks,
        events,
        fulfillment,
        users,
        unsubscribe,
        documents,
        tracking,
        visits,
        webhooks,
        metrics,
    ):
        app.include_router(module.router)

    install_web(app)

    # The docs page's assets are served from the package, so it works with no internet access.
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Campaign sequences API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    return app


app = create_app()
