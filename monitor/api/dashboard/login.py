"""Logging in with an API token: the browser session keeps the token's id, never its secret."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from monitor.api.audit import record_event
from monitor.api.dashboard.render import check_csrf, render
from monitor.api.deps import Db, Principal, limit_rate
from monitor.api.errors import unauthenticated
from monitor.tokens import authenticate, live_token

router = APIRouter(include_in_schema=False)


def page_principal(request: Request, session: Db) -> Principal:
    """The logged-in caller of a page; 401 (a redirect to the login page) otherwise."""
    token_id = request.session.get("token_id")
    token = live_token(session, token_id) if isinstance(token_id, int) else None
    if token is None:
        request.session.pop("token_id", None)
        raise unauthenticated("log in first")
    principal = Principal.of(token)
    request.state.principal = principal
    limit_rate(request, f"token:{token.id}")
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


@router.get("/login")
def login_page(request: Request):
    return render(request, "login.html", error=None)


@router.post("/login")
def login(request: Request, session: Db, token: Annotated[str, Form(max_length=200)],
          csrf_token: Annotated[str, Form(max_length=100)] = ""):
    """Check the token, then start a fresh browser session holding its id."""
    check_csrf(request, csrf_token)
    found = authenticate(session, token.strip())
    client = request.client.host if request.client else None
    if found is None:
        limit_rate(request, f"ip:{client or '-'}")
        record_event(session, action="login_failed", method="POST", path="/login", status=401,
                     detail={"client": client})
        return render(request, "login.html", status=401, error="That token is not valid, or it was revoked.")
    request.session.clear()  # no fixation: a new session, a new CSRF token
    request.session.update({"token_id": found.id, "csrf": secrets.token_urlsafe(32)})
    record_event(session, action="login", method="POST", path="/login", status=303, token_id=found.id,
                 actor=found.name, detail={"client": client})
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
