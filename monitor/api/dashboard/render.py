"""Templates (autoescaped, always), the CSRF token of the browser session, and HTML error pages."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from monitor.api.errors import ApiError
from monitor.countries import country_name

# autoescape=True for every template, whatever its name: nothing reaches a page unescaped.
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_env.filters["country_name"] = country_name
_env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.1f}%"
_env.filters["signed_pp"] = lambda v: "–" if v is None else f"{v * 100:+.1f} pp"
templates = Jinja2Templates(env=_env)


def csrf_token(request: Request) -> str:
    """The browser session's CSRF token, made on first use; every form carries it back."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """403 unless the form's token matches the session's (a cross-site form cannot read it)."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise ApiError(403, "csrf", "the form expired or came from elsewhere; reload the page and try again")


def render(request: Request, name: str, status: int = 200, **context):
    """A page with the caller (when logged in) and the CSRF token in its context."""
    principal = getattr(request.state, "principal", None)
    return templates.TemplateResponse(request, name, {"me": principal, "csrf": csrf_token(request), **context},
                                      status_code=status)


def page_error(request: Request, exc: ApiError):
    """401 sends the browser to the login page; other errors get a page saying what went wrong."""
    if exc.status == 401:
        return RedirectResponse("/login", status_code=303)
    return render(request, "error.html", status=exc.status, code=exc.code, message=exc.message)
