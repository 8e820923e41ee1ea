"""The FastAPI app: the JSON API under /api/v1 and the server-rendered dashboard, with their security headers."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from monitor.api import alerts, health, labels, posts, reclassify, reports, sources, subscribers, tokens, trends
from monitor.api.errors import ERROR_RESPONSES, install_error_handlers
from monitor.api.ratelimit import RateLimiter
from monitor.config import Settings
from monitor.db import session_factory

API_PREFIX = "/api/v1"
# No inline script or style anywhere: post texts are hostile, and escaping is the first line, this the second.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the CSP and its companions to every response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in SECURITY_HEADERS if k not in names]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, sessions: Callable[[], Session] | None = None) -> FastAPI:
    """The app for `settings`; `sessions` makes the request sessions (default: the configured database)."""
    from monitor.api.dashboard import install_dashboard

    app = FastAPI(title="Vigil API", version="1", docs_url=None, redoc_url=None,
                  openapi_url=f"{API_PREFIX}/openapi.json",
                  description="Trends, posts, alerts, sources, reports and labels; a bearer token per caller.")
    app.state.settings = settings
    app.state.sessions = sessions or session_factory(settings.sqlalchemy_url)
    app.state.limiter = RateLimiter(settings.api_rate_limit_per_minute, settings.rate_limit_redis_url)
    install_error_handlers(app)
    app.include_router(health.router, prefix=API_PREFIX)  # no token, no input: none of the error responses
    for module in (trends, posts, alerts, labels, sources, subscribers, reports, reclassify, tokens):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    install_dashboard(app)
    secret = settings.session_secret.get_secret_value() if settings.session_secret else secrets.token_hex(32)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="vigil_session", max_age=12 * 3600,
                       same_site="lax", https_only=settings.cookie_secure)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_environment() -> FastAPI:
    """The app for the process's settings (uvicorn's factory, so every worker builds its own)."""
    from monitor.config import get_settings

    return create_app(get_settings())
