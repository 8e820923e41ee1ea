"""Subscribers (admin): who gets reports and alerts, for which countries, how severe, when."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import select

from monitor.api.deps import Admin, Db, Principal, audit
from monitor.api.errors import ApiError, forbidden, not_found
from monitor.countries import CountryError, validate_country
from monitor.models import Subscriber

router = APIRouter(tags=["subscribers"])
SubscriberId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Severity = Literal["warning", "high", "critical"]


class SubscriberOut(BaseModel):
    id: int
    email: str
    name: str | None
    countries: list[str]
    min_severity: str
    timezone: str
    report_weekday: int
    report_hour: int
    webhook_url: str | None
    webhook_format: str
    active: bool


class SubscriberFields(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    countries: list[Annotated[str, Field(min_length=2, max_length=2)]] | None = Field(default=None, min_length=1,
                                                                                       max_length=300)
    min_severity: Severity | None = None
    timezone: str | None = Field(default=None, max_length=64)
    report_weekday: int | None = Field(default=None, ge=0, le=6)
    report_hour: int | None = Field(default=None, ge=0, le=23)
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=r"^https://")
    webhook_format: Literal["json", "slack"] | None = None
    active: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SubscriberIn(SubscriberFields):
    email: EmailStr
    countries: list[Annotated[str, Field(min_length=2, max_length=2)]] = Field(min_length=1, max_length=300)


def _out(s: Subscriber) -> SubscriberOut:
    return SubscriberOut(id=s.id, email=s.email, name=s.name, countries=list(s.countries or []),
                         min_severity=s.min_severity, timezone=s.timezone, report_weekday=s.report_weekday,
                         report_hour=s.report_hour, webhook_url=s.webhook_url, webhook_format=s.webhook_format,
                         active=s.active)


def _countries(principal: Principal, codes: list[str]) -> list[str]:
    """Valid, de-duplicated codes, all inside the token's scope."""
    try:
        valid = sorted({validate_country(c) for c in codes})
    except CountryError as exc:
        raise ApiError(422, "invalid_country", str(exc)) from None
    for cc in valid:
        principal.check_row(cc)
    return valid


def _in_scope(principal: Principal, subscriber: Subscriber) -> bool:
    """True when every country of the subscriber is in the token's scope; one with none only for a global token."""
    countries = subscriber.countries or []
    return principal.country is None or (bool(countries) and all(principal.sees(cc) for cc in countries))


@router.get("/subscribers", response_model=list[SubscriberOut])
def list_subscribers(session: Db, principal: Admin) -> list[SubscriberOut]:
    """Subscribers whose countries are all in the token's scope."""
    rows = session.scalars(select(Subscriber).order_by(Subscriber.email))
    return [_out(s) for s in rows if _in_scope(principal, s)]


@router.post("/subscribers", response_model=SubscriberOut, status_code=201)
def create_subscriber(request: Request, session: Db, principal: Admin, body: SubscriberIn) -> SubscriberOut:
    """Add a subscriber; an e-mail address already subscribed is a conflict."""
    email = str(body.email).lower()
    if session.scalar(select(Subscriber.id).where(Subscriber.email == email)) is not None:
        raise ApiError(409, "conflict", "this address is already subscribed")
    fields = body.model_dump(exclude_none=True, exclude={"email", "countries"})
    subscriber = Subscriber(email=email, countries=_countries(principal, body.countries), **fields)
    session.add(subscriber)
    session.flush()
    audit(session, request, principal, "subscriber.create", f"subscriber:{subscriber.id}",
          {"countries": subscriber.countries}, status=201)
    return _out(subscriber)


@router.patch("/subscribers/{subscriber_id}", response_model=SubscriberOut)
def update_subscriber(request: Request, session: Db, principal: Admin, body: SubscriberFields,
                      subscriber_id: SubscriberId) -> SubscriberOut:
    """Change a subscriber's countries, severity, schedule, webhook, or switch it off."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise not_found("subscriber")
    if not _in_scope(principal, subscriber):
        raise forbidden(f"this token is limited to {principal.country}")
    changes = body.model_dump(exclude_none=True)
    if "countries" in changes:
        changes["countries"] = _countries(principal, changes["countries"])
    for key, value in changes.items():
        setattr(subscriber, key, value)
    audit(session, request, principal, "subscriber.update", f"subscriber:{subscriber.id}",
          {k: v for k, v in changes.items() if k != "webhook_url"})
    return _out(subscriber)
