"""The API on real PostgreSQL: auth and audit, reads, writes, errors, limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import time

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from monitor.api import create_app
from monitor.api.deps import Db
from monitor.config import Settings
from monitor.models import Alert, ApiToken, AuditEvent, Label, Source
from tests.test_api_support import HOSTILE, bearer, make_client

pytest_plugins = ["tests.test_api_support"]  # fixtures: client, seeded


def _audit(db_session, action=None):
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db_session.scalars(query))


def test_no_token_gets_401_in_the_error_shape_and_is_audited(client, seeded, db_session):
    for headers in ({}, {"Authorization": "Bearer vgl_wrong"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/v1/posts", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"error": {"code": "unauthenticated", "message": "a valid API token is required"}}
        assert r.headers["www-authenticate"] == "Bearer"
    denied = _audit(db_session, "denied")
    assert [(e.status, e.path, e.token_id) for e in denied] == [(401, "/api/v1/posts", None)] * 3


def test_secrets_are_stored_hashed_and_revoked_tokens_stop_working(client, seeded, db_session):
    secret = seeded.tokens["viewer"]
    token = db_session.get(ApiToken, seeded.token_ids["viewer"])
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([getattr(token, c.key) for c in ApiToken.__table__.columns])
    assert client.get("/api/v1/me", headers=bearer(secret)).json()["role"] == "viewer"
    r = client.delete(f"/api/v1/tokens/{token.id}", headers=bearer(seeded.tokens["admin"]))
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_token_endpoints_show_the_secret_once_and_need_a_global_admin(client, seeded, db_session):
    admin = bearer(seeded.tokens["admin"])
    r = client.post("/api/v1/tokens", json={"name": "partner", "role": "viewer", "country": "am"}, headers=admin)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["secret"].startswith("vgl_") and new["country"] == "AM"
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert "secret" not in listed[-1] and new["secret"] not in str(listed)
    assert client.get("/api/v1/me", headers=bearer(new["secret"])).json()["country"] == "AM"
    for name in ("analyst", "am_admin"):
        assert client.get("/api/v1/tokens", headers=bearer(seeded.tokens[name])).status_code == 403
    bad = client.post("/api/v1/tokens", json={"name": "x", "role": "viewer", "country": "XX"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_token"
    assert [e.action for e in _audit(db_session) if e.action != "denied"] == ["token.create"]


def test_trends_by_day_and_week_from_rollups(client, seeded):
    r = client.get("/api/v1/trends", params={"country": "AM"}, headers=bearer(seeded.tokens["viewer"]))
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert {p["country"] for p in points} == {"AM"}
    assert sum(p["total_posts"] for p in points) == 12 and sum(p["antisemitic"] for p in points) == 4
    week = client.get("/api/v1/trends", params={"resolution": "week", "category": "conspiracy"},
                      headers=bearer(seeded.tokens["viewer"])).json()
    assert {p["country"] for p in week["points"]} == {"AM", "DE"}
    assert all(p["share"] == round(p["antisemitic"] / p["total_posts"], 6) for p in week["points"])
    assert sum(p["antisemitic"] for p in week["points"] if p["country"] == "DE") == 4
    bad = client.get("/api/v1/trends", params={"start": "2026-02-01", "end": "2026-01-01"},
                     headers=bearer(seeded.tokens["viewer"]))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_trends_by_source_kind_and_language_agree_with_the_rollups(client, seeded):
    viewer = bearer(seeded.tokens["viewer"])
    base = client.get("/api/v1/trends", params={"country": "AM", "category": "conspiracy"}, headers=viewer).json()
    rss = client.get("/api/v1/trends", params={"country": "AM", "category": "conspiracy", "source_kind": "rss",
                                               "language": "en"}, headers=viewer)
    assert rss.status_code == 200, rss.text
    assert rss.json()["points"] == base["points"]  # every seeded AM post is an English RSS post
    for other in ({"source_kind": "mastodon"}, {"language": "ru"}):
        assert client.get("/api/v1/trends", params={"country": "AM", **other}, headers=viewer).json()["points"] == []
    weekly = client.get("/api/v1/trends", params={"source_kind": "rss", "resolution": "week",
                                                  "trigger": "israel_azerbaijan_ties"},
                        headers=bearer(seeded.tokens["am_viewer"])).json()["points"]
    assert {p["country"] for p in weekly} == {"AM"} and sum(p["antisemitic"] for p in weekly) == 2
    unscoped = client.get("/api/v1/trends", params={"source_kind": "rss"}, headers=viewer)
    assert unscoped.status_code == 422 and "need a country" in unscoped.json()["error"]["message"]


def test_posts_paginate_by_cursor_with_a_capped_page(db_session, seeded, tmp_path):
    client = make_client(db_session, data_dir=tmp_path, api_page_size_max=5)
    headers = bearer(seeded.tokens["analyst"])
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/posts", params={"limit": 1000, **({"cursor": cursor} if cursor else {})},
                          headers=headers).json()
        assert len(page["items"]) <= 5
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seeded.posts["AM"] + seeded.posts["DE"], reverse=True)


def test_post_filters_classification_and_explanation(client, seeded):
    headers = bearer(seeded.tokens["analyst"])
    flagged = client.get("/api/v1/posts", params={"country": "DE", "antisemitic": "true"}, headers=headers).json()
    assert len(flagged["items"]) == 4
    first = flagged["items"][0]
    assert first["classification"]["category"] == "conspiracy" and "score" in first["explanation"]
    assert first["text"].startswith("<script>")  # JSON carries the text as it is; pages escape it
    by_trigger = client.get("/api/v1/posts", params={"trigger": "israel_azerbaijan_ties"}, headers=headers).json()
    assert by_trigger["items"] and all("israel_azerbaijan_ties" in p["classification"]["triggers"]
                                       for p in by_trigger["items"])
    one = client.get(f"/api/v1/posts/{first['id']}", headers=headers).json()
    assert one["id"] == first["id"] and one["labels"] == []
    assert client.get("/api/v1/posts/999999999", headers=headers).json()["error"]["code"] == "not_found"


def test_viewers_read_excerpts_analysts_whole_texts(db_session, seeded, tmp_path):
    long_post = seeded.posts["AM"][1]
    from monitor.models import Post

    db_session.get(Post, long_post).text = "word " * 200
    db_session.commit()
    client = make_client(db_session, data_dir=tmp_path)
    viewer = client.get(f"/api/v1/posts/{long_post}", headers=bearer(seeded.tokens["viewer"])).json()
    analyst = client.get(f"/api/v1/posts/{long_post}", headers=bearer(seeded.tokens["analyst"])).json()
    assert len(viewer["text"]) <= 280 and len(analyst["text"]) == 1000


def test_acknowledge_and_resolve_record_who_and_are_audited(client, seeded, db_session):
    alert_id = seeded.alerts["AM"]
    analyst = bearer(seeded.tokens["analyst"])
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=bearer(seeded.tokens["viewer"])
                       ).status_code == 403
    r = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=analyst)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["acknowledged_by"] == "analyst"
    again = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=analyst)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=analyst).json()["resolved_by"] == "analyst"
    alert = db_session.get(Alert, alert_id)
    db_session.refresh(alert)
    assert alert.status == "resolved" and alert.acknowledged_at and alert.resolved_at
    events = [(e.action, e.target, e.actor) for e in _audit(db_session)]
    assert events == [("denied", None, "viewer"), ("alert.acknowledge", f"alert:{alert_id}", "analyst"),
                      ("alert.resolve", f"alert:{alert_id}", "analyst")]
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=analyst).json()
    assert detail["subject"].startswith("[Vigil high] AM") and "text" in detail
    assert (detail["notice"], detail["notice_reason"]) == (1, "opened")


def test_labels_are_stored_with_who_and_when_and_listed(client, seeded, db_session):
    post_id = seeded.posts["AM"][0]
    analyst = bearer(seeded.tokens["analyst"])
    body = {"antisemitic": True, "category": "conspiracy", "triggers": ["gaza_war"], "note": "classic trope"}
    r = client.post(f"/api/v1/posts/{post_id}/labels", json=body, headers=analyst)
    assert r.status_code == 201, r.text
    assert r.json()["labelled_by"] == "analyst" and r.json()["created_at"]
    label = db_session.scalar(select(Label).where(Label.post_id == post_id))
    assert (label.antisemitic, label.category, label.triggers, label.token_id) == (
        True, "conspiracy", ["gaza_war"], seeded.token_ids["analyst"])
    for bad in ({"antisemitic": False, "category": "conspiracy"}, {"antisemitic": True, "category": "nope"},
                {"antisemitic": True, "triggers": ["not_a_trigger"]}):
        r = client.post(f"/api/v1/posts/{post_id}/labels", json=bad, headers=analyst)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_label", bad
    client.post(f"/api/v1/posts/{post_id}/labels", json={"antisemitic": False},
                headers=bearer(seeded.tokens["am_analyst"]))
    post = client.get(f"/api/v1/posts/{post_id}", headers=analyst).json()
    assert [lb["labelled_by"] for lb in post["labels"]] == ["analyst", "am_analyst"] and post["disputed"]
    listed = client.get("/api/v1/labels", headers=analyst).json()["items"]
    assert [lb["post_id"] for lb in listed] == [post_id, post_id]
    assert [e.action for e in _audit(db_session, "label.create")] == ["label.create"] * 2
    assert client.post(f"/api/v1/posts/{post_id}/labels", json=body, headers=bearer(seeded.tokens["viewer"])
                       ).status_code == 403


def test_sources_with_health_and_admin_changes(client, seeded, db_session):
    viewer, admin = bearer(seeded.tokens["viewer"]), bearer(seeded.tokens["admin"])
    listed = client.get("/api/v1/sources", headers=viewer).json()
    assert {s["country"] for s in listed} == {"AM", "DE"}
    assert all(s["health"] == "never_polled" and s["locator"] is None for s in listed)
    new = {"name": "am-blog", "kind": "rss", "locator": "https://blog.example/feed", "country": "AM"}
    assert client.post("/api/v1/sources", json=new, headers=bearer(seeded.tokens["analyst"])).status_code == 403
    r = client.post("/api/v1/sources", json=new, headers=admin)
    assert r.status_code == 201 and r.json()["locator"] == new["locator"]
    local = {**new, "name": "disk", "kind": "file", "locator": "/etc/passwd"}
    assert client.post("/api/v1/sources", json=local, headers=admin).status_code == 422
    patched = client.patch(f"/api/v1/sources/{r.json()['id']}", json={"enabled": False}, headers=admin).json()
    assert patched["enabled"] is False and patched["health"] == "disabled"
    assert db_session.get(Source, r.json()["id"]).enabled is False
    assert [e.action for e in _audit(db_session) if e.action != "denied"] == ["source.create", "source.update"]


def test_report_runs_and_their_files(client, seeded):
    viewer = bearer(seeded.tokens["viewer"])
    runs = client.get("/api/v1/reports", headers=viewer).json()["items"]
    assert {r["id"] for r in runs} == set(seeded.runs.values()) and all(r["has_file"] for r in runs)
    r = client.get(f"/api/v1/reports/{seeded.runs['AM']}/file", headers=viewer)
    assert r.status_code == 200 and r.text == "<p>report AM</p>"


def test_report_files_outside_the_data_dir_are_not_served(client, seeded, db_session):
    from monitor.models import ReportRun

    db_session.get(ReportRun, seeded.runs["AM"]).path = "/etc/passwd"
    db_session.commit()
    r = client.get(f"/api/v1/reports/{seeded.runs['AM']}/file", headers=bearer(seeded.tokens["viewer"]))
    assert r.status_code == 404


def test_errors_keep_their_shape(client, seeded):
    viewer = bearer(seeded.tokens["viewer"])
    assert client.get("/api/v1/nope", headers=viewer).json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/posts", params={"limit": 0}, headers=viewer)
    assert r.status_code == 422 and set(r.json()["error"]) == {"code", "message"}
    r = client.get("/api/v1/alerts", params={"status": "bogus"}, headers=viewer)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_rate_limit_per_token(db_session, seeded, tmp_path):
    client = make_client(db_session, data_dir=tmp_path, api_rate_limit_per_minute=3)
    codes = [client.get("/api/v1/me", headers=bearer(seeded.tokens["viewer"])).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/me", headers=bearer(seeded.tokens["viewer"]))
    assert r.json()["error"]["code"] == "rate_limited" and r.headers["retry-after"] == "60"
    assert client.get("/api/v1/me", headers=bearer(seeded.tokens["analyst"])).status_code == 200


def test_rate_limit_on_redis_is_shared(db_session, seeded, tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    one = make_client(db_session, data_dir=tmp_path, api_rate_limit_per_minute=2, rate_limit_redis_url=redis_url)
    two = make_client(db_session, data_dir=tmp_path, api_rate_limit_per_minute=2, rate_limit_redis_url=redis_url)
    headers = bearer(seeded.tokens["viewer"])
    codes = [c.get("/api/v1/me", headers=headers).status_code for c in (one, two, one)]
    assert codes == [200, 200, 429]


def test_a_slow_query_is_cancelled_by_the_statement_timeout(db_session, seeded, tmp_path):
    client = make_client(db_session, data_dir=tmp_path, api_statement_timeout_ms=50)

    @client.app.get("/api/v1/_slow")
    def _slow(session: Db):
        session.execute(text("SELECT pg_sleep(1)"))
        return {}

    r = client.get("/api/v1/_slow")
    assert r.status_code == 503 and r.json()["error"]["code"] == "query_timeout"
    assert client.get("/api/v1/me", headers=bearer(seeded.tokens["viewer"])).status_code == 200


def test_openapi_schema_is_served_with_bearer_auth(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/v1/posts" in schema["paths"] and HOSTILE


def test_committed_openapi_schema_matches_the_app():
    """docs/openapi.json is what clients read: regenerate it with `vigil openapi > docs/openapi.json`."""
    import json
    from pathlib import Path

    from monitor.api import create_app
    from monitor.config import Settings

    committed = json.loads((Path(__file__).resolve().parent.parent / "docs" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(create_app(Settings()).openapi(), sort_keys=True))


def test_health_answers_without_a_token_and_names_what_is_down(pg_url, tmp_path, redis_url):
    def health(**settings):
        app = create_app(Settings(**{"database_url": pg_url, "data_dir": tmp_path, **settings}))
        return TestClient(app, raise_server_exceptions=False).get("/api/v1/health")

    redis.Redis.from_url(redis_url).flushdb()
    up = health(broker_url=redis_url)
    assert up.status_code == 200 and up.json() == {"status": "ok", "database": "ok", "broker": "ok", "queued": 0,
                                                   "rollups_behind_s": 0.0}
    assert health().json() == {"status": "ok", "database": "ok", "broker": "in_process", "queued": None,
                               "rollups_behind_s": 0.0}  # the embedded default
    with socket.socket() as nobody, socket.socket() as silent:
        nobody.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections and never answers, as a stalled broker does
        refused, stalled = nobody.getsockname()[1], silent.getsockname()[1]
        away = health(broker_url=f"redis://127.0.0.1:{refused}/0")
        assert away.status_code == 200 and away.json()["status"] == "degraded" and away.json()["broker"] == "error"
        started = time.monotonic()
        hung = health(broker_url=f"redis://127.0.0.1:{stalled}/0")
        assert hung.json()["broker"] == "error" and time.monotonic() - started < 10
        down = health(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{refused}/none")
        assert down.status_code == 503 and down.json()["status"] == "down" and down.json()["database"] == "error"
        assert down.json()["rollups_behind_s"] is None and away.json()["queued"] is None


def test_health_counts_queued_tasks_and_the_age_of_the_oldest_lagging_rollup(pg_engine, pg_url, tmp_path, redis_url):
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from monitor.models import StaleDay
    from workers.app import QUEUE

    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    broker.rpush(QUEUE, b"{}", b"{}", b"{}")  # three messages no worker has taken
    marked = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    with Session(pg_engine) as session:  # committed: the API reads in a session of its own
        session.add_all([StaleDay(country="QY", day=dt.date(2024, 3, 1), marked_at=marked),
                         StaleDay(country="QY", day=dt.date(2024, 3, 2), marked_at=marked + dt.timedelta(minutes=9))])
        session.commit()
    try:
        app = create_app(Settings(database_url=pg_url, data_dir=tmp_path, broker_url=redis_url))
        body = TestClient(app).get("/api/v1/health").json()
    finally:
        broker.flushdb()
        with Session(pg_engine) as session:
            session.execute(delete(StaleDay).where(StaleDay.country == "QY"))
            session.commit()
    assert body["status"] == "ok" and body["queued"] == 3
    assert 600 <= body["rollups_behind_s"] < 660  # the oldest mark, ten minutes ago
