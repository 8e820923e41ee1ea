"""What the API and dashboard tests share: seeded rows in two countries, tokens, and a client whose
requests run in the test's rolled-back transaction. (No tests here; the other modules import it.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from monitor.api import create_app
from monitor.api.deps import get_session
from monitor.config import Settings
from monitor.models import Alert, ReportRun, Subscriber
from monitor.rollups import recompute_rollups
from monitor.tokens import create_token
from tests.factories import make_post, make_source

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> Jews control the banks'


@dataclass
class Seeded:
    """Ids of what `seed` made, per country, and the tokens' secrets by name."""

    posts: dict[str, list[int]] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)


def seed(session: Session, today: dt.date | None = None, report_dir=None) -> Seeded:
    """Posts, classifications, rollups, alerts, report runs and sources in AM and DE, and tokens:
    admin (all), analyst (all), viewer (all), am_analyst and am_viewer (AM only), am_admin (AM only)."""
    today = today or dt.date.today()
    out = Seeded()
    for country in ("AM", "DE"):
        src = make_source(session, country=country, kind="rss", name=f"{country.lower()}-news",
                          locator=f"https://news.example/{country.lower()}.xml")
        out.sources[country] = src.id
        ids = []
        for i in range(12):
            day = today - dt.timedelta(days=i % 10)
            hostile = i % 3 == 0
            text = f"{HOSTILE} {country} {i}" if hostile else f"Concert {i} in {country} tonight"
            post = make_post(session, src, day, text, classification={
                "antisemitic": hostile, "score": (0.9 if hostile else 0.1) if i % 4 else 0.5 + i / 100,
                "category": "conspiracy" if hostile else "none",
                "triggers": ["israel_azerbaijan_ties"] if hostile and i % 2 == 0 else []})
            ids.append(post.id)
        out.posts[country] = ids
        recompute_rollups(session, country, [today - dt.timedelta(days=d) for d in range(10)])
        alert = Alert(country=country, kind="spike", metric="antisemitic_count", status="open", severity="high",
                      started_on=today - dt.timedelta(days=1), last_seen_on=today, observed=9, expected=2,
                      score=5.0, details={"day": today.isoformat(), "posts": 12,
                                          "terms": [{"term": f"term-{country.lower()}", "z": 4.2, "posts": 3}]})
        session.add(alert)
        sub = Subscriber(email=f"{country.lower()}@ngo.example", countries=[country])
        session.add(sub)
        session.flush()
        path = None
        if report_dir is not None:
            path = report_dir / f"report-{country}.html"
            path.write_text(f"<p>report {country}</p>")
        run = ReportRun(scope=f"subscriber:{sub.id}", iso_week="2026-W01", status="success", countries=country,
                        started_at=dt.datetime.now(dt.timezone.utc), path=str(path) if path else None)
        session.add(run)
        session.flush()
        out.alerts[country], out.runs[country] = alert.id, run.id
    for name, role, country in (("admin", "admin", None), ("analyst", "analyst", None),
                                ("viewer", "viewer", None), ("am_analyst", "analyst", "AM"),
                                ("am_viewer", "viewer", "AM"), ("am_admin", "admin", "AM")):
        token, secret = create_token(session, name, role, country)
        out.tokens[name], out.token_ids[name] = secret, token.id
    return out


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make_client(session: Session, **settings) -> TestClient:
    """A client of an app whose every request uses `session` (the test's transaction)."""
    app = create_app(Settings(**{"database_url": "postgresql+psycopg://unused/unused", **settings}))

    def _session():
        yield session

    app.dependency_overrides[get_session] = _session
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def seeded(db_session, tmp_path) -> Seeded:
    data = seed(db_session, report_dir=tmp_path)
    db_session.commit()  # into the outer, rolled-back transaction: a request's rollback keeps it
    return data


@pytest.fixture
def client(db_session, tmp_path) -> TestClient:
    return make_client(db_session, data_dir=tmp_path)
