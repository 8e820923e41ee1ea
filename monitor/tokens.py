"""API tokens: a random secret shown once, stored as its sha256; a role and an optional country scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.countries import validate_country
from monitor.db import as_utc
from monitor.models import ApiToken

ROLES = ("viewer", "analyst", "admin")  # each role may do what the ones before it may
PREFIX = "vgl_"


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown role, bad country, no such token)."""


def hash_secret(secret: str) -> str:
    """The stored form of a secret; secrets are 256 random bits, so a plain sha256 suffices."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def role_at_least(role: str, needed: str) -> bool:
    """True when `role` may do what `needed` may."""
    return ROLES.index(role) >= ROLES.index(needed)


def create_token(session: Session, name: str, role: str, country: str | None = None) -> tuple[ApiToken, str]:
    """A new token and its secret; the secret is returned this once and never stored."""
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise TokenError("a token needs a name")
    try:
        scope = validate_country(country) if country else None
    except ValueError as exc:
        raise TokenError(str(exc)) from None
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name.strip()[:200], role=role, country=scope, secret_hash=hash_secret(secret),
                     created_at=dt.datetime.now(dt.timezone.utc))
    session.add(token)
    session.flush()
    return token, secret


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, or None; records when it was last used."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = dt.datetime.now(dt.timezone.utc)
    last = token.last_used_at
    if last is None or now - as_utc(last) > dt.timedelta(minutes=1):
        token.last_used_at = now  # at most once a minute: reads stay (nearly) read-only
    return token


def live_token(session: Session, token_id: int) -> ApiToken | None:
    """The token with this id unless revoked (the dashboard's session cookie holds only the id)."""
    token = session.get(ApiToken, token_id)
    return token if token is not None and token.revoked_at is None else None


def list_tokens(session: Session) -> list[ApiToken]:
    """All tokens, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token; revoking twice keeps the first time."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = dt.datetime.now(dt.timezone.utc)
    return token
