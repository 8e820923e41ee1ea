"""Request dependencies: one session and one transaction per request, the caller's token, its scope.

The transaction is committed here, after the route returned and before the response is sent;
helpers never commit. A refused request (401/403) rolls back what it did and commits only its
audit event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.api.audit import record_event
from monitor.api.errors import ApiError, forbidden, unauthenticated
from monitor.models import ApiToken
from monitor.tokens import authenticate, role_at_least


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's id, name, role and country scope (None: every country)."""

    token_id: int
    name: str
    role: str
    country: str | None

    @classmethod
    def of(cls, token: ApiToken) -> Principal:
        return cls(token.id, token.name, token.role, token.country)

    @property
    def countries(self) -> list[str] | None:
        """The countries this token may see; None for all."""
        return [self.country] if self.country else None

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)

    def sees(self, country: str | None) -> bool:
        return self.country is None or country == self.country

    def country_filter(self, requested: str | None) -> str | None:
        """The country to filter by: the one asked for, which must be in scope, or the scope itself."""
        requested = requested.strip().upper() if requested else None
        if requested and not self.sees(requested):
            raise forbidden(f"this token is limited to {self.country}")
        return requested or self.country

    def check_row(self, country: str) -> None:
        """Refuse a single row (a post, an alert, a source) outside the scope."""
        if not self.sees(country):
            raise forbidden(f"this token is limited to {self.country}")


def get_session(request: Request) -> Iterator[Session]:
    """A session from the app's factory; tests override this to hand in their rolled-back session."""
    with request.app.state.sessions() as session:
        yield session


def get_db(request: Request, session: Annotated[Session, Depends(get_session)]) -> Iterator[Session]:
    """The request's transaction: a statement timeout, committed on success, rolled back on error."""
    if session.get_bind().dialect.name == "postgresql":
        timeout = str(int(request.app.state.settings.api_statement_timeout_ms))
        session.execute(select(func.set_config("statement_timeout", timeout, True)))
    try:
        yield session
    except ApiError as exc:
        session.rollback()
        if exc.status in (401, 403):
            record_denial(session, request, exc)
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()


def record_denial(session: Session, request: Request, exc: ApiError) -> None:
    """Audit a refused request; the caller commits."""
    principal: Principal | None = getattr(request.state, "principal", None)
    record_event(session, action="denied", method=request.method, path=request.url.path, status=exc.status,
                 token_id=principal.token_id if principal else None, actor=principal.name if principal else None,
                 detail={"code": exc.code, "client": request.client.host if request.client else None})


Db = Annotated[Session, Depends(get_db, scope="function")]


def limit_rate(request: Request, key: str) -> None:
    """429 once `key` made more requests this minute than the limit allows."""
    if not request.app.state.limiter.allow(key):
        raise ApiError(429, "rate_limited", "too many requests; try again in a minute", {"Retry-After": "60"})


bearer = HTTPBearer(auto_error=False, description="An API token from `vigil tokens create`.")


def api_principal(request: Request, session: Db,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The caller of an API route, from `Authorization: Bearer <token>`; 401 without a live token."""
    token = authenticate(session, credentials.credentials.strip()) if credentials else None
    if token is None:
        limit_rate(request, f"ip:{request.client.host if request.client else '-'}")
        raise unauthenticated()
    principal = Principal.of(token)
    request.state.principal = principal
    limit_rate(request, f"token:{token.id}")
    return principal


def require(role: str):
    """A dependency giving the caller when its role is at least `role`; 403 otherwise."""

    def _check(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        if not principal.can(role):
            raise forbidden(f"this needs the {role} role")
        return principal

    return _check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def audit(session: Session, request: Request, principal: Principal, action: str, target: str,
          detail: dict | None = None, status: int = 200) -> None:
    """Record a write by `principal` in the request's transaction."""
    record_event(session, action=action, method=request.method, path=request.url.path, status=status,
                 token_id=principal.token_id, actor=principal.name, target=target, detail=detail)
