"""Sources with their health; admins add, change, enable and disable them (feeds only, never local files)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from monitor.api.deps import Admin, Db, Principal, Viewer, audit
from monitor.api.errors import ApiError, forbidden, not_found
from monitor.db import as_utc
from monitor.models import Source
from monitor.sources.registry import add_source

router = APIRouter(tags=["sources"])
STALE_AFTER = dt.timedelta(hours=6)
SourceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SourceOut(BaseModel):
    id: int
    name: str
    kind: str
    country: str
    language: str | None
    locator: str | None  # admins only: it may carry an account name or a path
    enabled: bool
    poll_interval_s: int
    last_polled_at: dt.datetime | None
    last_success_at: dt.datetime | None
    consecutive_failures: int
    last_error: str | None
    health: Literal["ok", "failing", "stale", "never_polled", "disabled"]


class SourceIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["rss", "mastodon"]  # file sources read the server's disk: CLI only
    locator: str = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    country: str = Field(min_length=2, max_length=2)
    language: str | None = Field(default=None, max_length=8)
    poll_interval_s: int = Field(default=900, ge=30, le=7 * 86400)


class SourcePatch(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    enabled: bool | None = None
    poll_interval_s: int | None = Field(default=None, ge=30, le=7 * 86400)


def health(source: Source, now: dt.datetime) -> str:
    """ok, failing (its last polls failed), stale (no success for long), never_polled, or disabled."""
    if not source.enabled:
        return "disabled"
    if source.last_polled_at is None and source.last_success_at is None:
        return "never_polled"
    if source.consecutive_failures:
        return "failing"
    limit = max(STALE_AFTER, 4 * dt.timedelta(seconds=source.poll_interval_s))
    ok = source.last_success_at
    return "stale" if ok is None or now - as_utc(ok) > limit else "ok"


def source_out(source: Source, principal: Principal, now: dt.datetime) -> SourceOut:
    return SourceOut(id=source.id, name=source.name, kind=source.kind, country=source.country,
                     language=source.language, locator=source.locator if principal.can("admin") else None,
                     enabled=source.enabled, poll_interval_s=source.poll_interval_s,
                     last_polled_at=source.last_polled_at, last_success_at=source.last_success_at,
                     consecutive_failures=source.consecutive_failures,
                     last_error=(source.last_error or "")[:300] or None, health=health(source, now))


@router.get("/sources", response_model=list[SourceOut])
def list_sources(session: Db, principal: Viewer,
                 country: Annotated[str | None, Query(max_length=2)] = None) -> list[SourceOut]:
    """Sources in scope, by country and name, with their health."""
    query = select(Source).order_by(Source.country, Source.name)
    cc = principal.country_filter(country)
    if cc:
        query = query.where(Source.country == cc)
    now = dt.datetime.now(dt.timezone.utc)
    return [source_out(s, principal, now) for s in session.scalars(query)]


@router.post("/sources", response_model=SourceOut, status_code=201)
def create_source(request: Request, session: Db, principal: Admin, body: SourceIn) -> SourceOut:
    """Add a feed (or update the one with this name, in the caller's scope)."""
    principal.check_row(body.country.upper())
    existing = session.scalar(select(Source).where(Source.name == body.name))
    if existing is not None and not principal.sees(existing.country):
        raise forbidden(f"this token is limited to {principal.country}")
    try:
        source = add_source(session, name=body.name, kind=body.kind, locator=body.locator, country=body.country,
                            language=body.language, poll_interval_s=body.poll_interval_s)
    except ValueError as exc:
        raise ApiError(422, "invalid_source", str(exc)) from None
    audit(session, request, principal, "source.create", f"source:{source.id}",
          {"name": source.name, "kind": source.kind, "country": source.country}, status=201)
    return source_out(source, principal, dt.datetime.now(dt.timezone.utc))


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(request: Request, session: Db, principal: Admin, body: SourcePatch,
                  source_id: SourceId) -> SourceOut:
    """Enable or disable a source, or change how often it is polled."""
    source = session.get(Source, source_id)
    if source is None:
        raise not_found("source")
    principal.check_row(source.country)
    changes = body.model_dump(exclude_none=True)
    for key, value in changes.items():
        setattr(source, key, value)
    audit(session, request, principal, "source.update", f"source:{source.id}", changes)
    return source_out(source, principal, dt.datetime.now(dt.timezone.utc))
