"""`vigil serve`: the API and dashboard under uvicorn; `vigil openapi`: the schema as JSON."""

from __future__ import annotations

import json

import typer

from monitor.config import get_settings

app = typer.Typer()


@app.command()
def serve(host: str | None = typer.Option(None, help="Address to bind (default VIGIL_API_HOST)."),
          port: int | None = typer.Option(None, help="Port (default VIGIL_API_PORT)."),
          workers: int = typer.Option(1, help="Worker processes.")) -> None:
    """Serve the API (/api/v1) and the dashboard (/)."""
    import uvicorn

    s = get_settings()
    from monitor.api.server import NoDelayH11Protocol

    uvicorn.run("monitor.api.app:app_from_environment", factory=True, host=host or s.api_host,
                port=port or s.api_port, workers=workers, proxy_headers=True, access_log=False,
                http=NoDelayH11Protocol)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI schema (commit it when the API changes)."""
    from monitor.api import create_app

    typer.echo(json.dumps(create_app(get_settings()).openapi(), indent=2, sort_keys=True))
