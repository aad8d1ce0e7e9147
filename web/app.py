"""Puts the web app's pages and assets into the API's FastAPI app."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from web.pages import (
    canvas,
    contacts,
    enrollments,
    fulfilment,
    links,
    people,
    preview,
    sequences,
    sharing,
    sign_in,
    todo,
)

# The canvas's /sequences/new before the sequence pages' /sequences/{id}.
PAGES = (
    sign_in,
    links,
    people,
    todo,
    contacts,
    canvas,
    sequences,
    sharing,
    enrollments,
    preview,
    fulfilment,
)


def install_web(app: FastAPI) -> None:
    for module in PAGES:
        app.include_router(module.router)
    # Every asset is the app's own: the pages work with no internet access.
    app.mount(
        "/app/static",
        StaticFiles(directory=Path(__file__).with_name("static")),
        name="web-static",
    )
