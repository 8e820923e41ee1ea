"""The dashboard: server-rendered pages on the API's data, a token login, CSRF on every form."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from monitor.api.dashboard import login, pages
from monitor.api.dashboard.render import page_error

STATIC = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    """Mount the pages, their static files and their HTML error pages on `app`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(login.router)
    app.include_router(pages.router)
    app.state.page_error = page_error
