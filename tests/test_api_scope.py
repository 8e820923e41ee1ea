"""A token scoped to AM never sees a DE post, alert, trend, source, label or report, by any endpoint."""

from __future__ import annotations

import json

import pytest

from tests.test_api_support import bearer

pytest_plugins = ["tests.test_api_support"]  # fixtures: client, seeded

SCOPED = ("am_viewer", "am_analyst", "am_admin")


def _countries(body) -> set[str]:
    """Every value of a "country" key anywhere in a JSON body."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "country" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return found


@pytest.mark.parametrize("name", SCOPED)
def test_lists_hold_only_the_scoped_country(client, seeded, name):
    headers = bearer(seeded.tokens[name])
    for path in ("/api/v1/trends", "/api/v1/posts", "/api/v1/alerts", "/api/v1/sources", "/api/v1/labels"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        assert _countries(r.json()) <= {"AM"}, path
    posts = client.get("/api/v1/posts", headers=headers).json()["items"]
    assert {p["id"] for p in posts} == set(seeded.posts["AM"])
    runs = client.get("/api/v1/reports", headers=headers).json()["items"]
    assert [r["id"] for r in runs] == [seeded.runs["AM"]]


@pytest.mark.parametrize("name", SCOPED)
def test_a_report_stays_with_the_countries_it_covers(client, seeded, name, db_session):
    """A run is seen by what its report holds: a DE subscriber who follows AM since does not hand AM tokens the DE
    report rendered before."""
    from sqlalchemy import select

    from monitor.models import Subscriber

    de = db_session.scalar(select(Subscriber).where(Subscriber.email == "de@ngo.example"))
    de.countries = ["AM"]
    db_session.flush()
    headers = bearer(seeded.tokens[name])
    runs = client.get("/api/v1/reports", headers=headers).json()["items"]
    assert [r["id"] for r in runs] == [seeded.runs["AM"]]
    assert client.get(f"/api/v1/reports/{seeded.runs['DE']}/file", headers=headers).status_code == 403


@pytest.mark.parametrize("name", SCOPED)
def test_asking_for_another_country_is_403_and_audited(client, seeded, name, db_session):
    from sqlalchemy import select

    from monitor.models import AuditEvent

    headers = bearer(seeded.tokens[name])
    de = [("/api/v1/trends", {"country": "DE"}), ("/api/v1/posts", {"country": "de"}),
          ("/api/v1/alerts", {"country": "DE"}), ("/api/v1/sources", {"country": "DE"}),
          ("/api/v1/labels", {"country": "DE"}),
          (f"/api/v1/posts/{seeded.posts['DE'][0]}", {}), (f"/api/v1/alerts/{seeded.alerts['DE']}", {}),
          (f"/api/v1/reports/{seeded.runs['DE']}/file", {})]
    for path, params in de:
        r = client.get(path, params=params, headers=headers)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "forbidden" and "DE" not in json.dumps(r.json()).replace(
            "limited to AM", "")
    denied = list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")))
    assert len(denied) == len(de) and {e.token_id for e in denied} == {seeded.token_ids[name]}


def test_writes_outside_the_scope_are_refused(client, seeded):
    analyst, admin = bearer(seeded.tokens["am_analyst"]), bearer(seeded.tokens["am_admin"])
    de_post, de_alert = seeded.posts["DE"][0], seeded.alerts["DE"]
    assert client.post(f"/api/v1/posts/{de_post}/labels", json={"antisemitic": False}, headers=analyst
                       ).status_code == 403
    for action in ("acknowledge", "resolve"):
        assert client.post(f"/api/v1/alerts/{de_alert}/{action}", headers=analyst).status_code == 403
    assert client.patch(f"/api/v1/sources/{seeded.sources['DE']}", json={"enabled": False}, headers=admin
                        ).status_code == 403
    new = {"name": "de-x", "kind": "rss", "locator": "https://x.example/feed", "country": "DE"}
    assert client.post("/api/v1/sources", json=new, headers=admin).status_code == 403
    hijack = {"name": "de-news", "kind": "rss", "locator": "https://evil.example/feed", "country": "AM"}
    assert client.post("/api/v1/sources", json=hijack, headers=admin).status_code == 403
    assert client.get("/api/v1/tokens", headers=admin).status_code == 403
    # in scope, the same writes work
    assert client.post(f"/api/v1/alerts/{seeded.alerts['AM']}/acknowledge", headers=analyst).status_code == 200


def test_every_get_endpoint_in_the_schema_keeps_de_rows_from_an_am_token(client, seeded):
    """A sweep over the OpenAPI schema, so that a new endpoint cannot forget the scope unnoticed."""
    schema = client.get("/api/v1/openapi.json").json()
    ids = {"post_id": seeded.posts["DE"][0], "alert_id": seeded.alerts["DE"], "run_id": seeded.runs["DE"],
           "source_id": seeded.sources["DE"], "token_id": seeded.token_ids["admin"]}
    de_texts = {f" DE {i}" for i in range(12)}
    headers = bearer(seeded.tokens["am_admin"])
    checked = 0
    for path, ops in schema["paths"].items():
        if "get" not in ops or path == "/api/v1/health":  # states only, no rows (test_api checks it)
            continue
        url = path.format(**ids)
        for params in ({}, {"country": "DE"}):
            r = client.get(url, params=params, headers=headers)
            assert r.status_code in (200, 403, 404), (url, r.status_code)
            if r.status_code == 200:
                assert _countries(r.json()) <= {"AM"}, url
                assert not any(t in r.text for t in de_texts), url
            checked += 1
    assert checked >= 20
