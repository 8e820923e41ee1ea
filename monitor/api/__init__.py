"""Vigil's HTTP API and dashboard: `create_app(settings)` builds both; `vigil serve` runs it."""

from monitor.api.app import create_app

__all__ = ["create_app"]
