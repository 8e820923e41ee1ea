"""Labels outside HTTP: validation, the review queue's order, disagreements, and the training export."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from monitor.labels import LabelError, add_label, check_label, disputed_posts, export_labels, review_queue
from tests.factories import make_post, make_source


def test_check_label_rules():
    assert check_label(False, None, []) == ("none", [])
    assert check_label(True, None, ["gaza_war", "gaza_war"]) == ("", ["gaza_war"])
    assert check_label(True, "conspiracy", []) == ("conspiracy", [])
    for args in ((False, "conspiracy", []), (True, "none", []), (True, "x", []), (True, None, ["Bad Id"])):
        with pytest.raises(LabelError):
            check_label(*args)


def test_export_gives_the_latest_label_per_post_in_the_training_shape(db_session):
    src = make_source(db_session, country="AM")
    day = dt.date.today()
    a = make_post(db_session, src, day, "first text")
    b = make_post(db_session, src, day, "second text")
    make_post(db_session, src, day, "never labelled")
    add_label(db_session, a.id, True, "conspiracy", ["gaza_war"], by="ann")
    add_label(db_session, a.id, False, by="bob")  # the later label wins
    add_label(db_session, b.id, True, None, by="ann")
    rows = list(export_labels(db_session))
    assert rows == [
        {"text": "first text", "antisemitic": False, "lang": "en", "category": "none", "triggers": []},
        {"text": "second text", "antisemitic": True, "lang": "en", "category": "", "triggers": []},
    ]
    from classifiers.data import check_row

    assert [check_row(r)["antisemitic"] for r in rows] == [False, True]  # training accepts them
    assert disputed_posts(db_session, None) == [a.id]
    assert disputed_posts(db_session, ["DE"]) == []
    add_label(db_session, a.id, False, by="ann")  # ann changes her mind: the latest labels agree
    assert disputed_posts(db_session, None) == []  # as the API's `disputed` flag (labels.disagree) says


def test_review_queue_puts_uncertain_first_spreads_countries_and_adds_an_audit_sample(db_session):
    today = dt.date.today()
    for country in ("AM", "DE"):
        src = make_source(db_session, country=country)
        for i, score in enumerate((0.5, 0.55, 0.6, 0.3, 0.98, 0.99, 0.02)):
            make_post(db_session, src, today, f"{country} {i}", classification={
                "antisemitic": score >= 0.5, "score": score, "category": "conspiracy" if score >= 0.5 else "none"})
    queue = review_queue(db_session, None, uncertain=4, audit=2)
    uncertain = [q for q in queue if q.reason == "uncertain"]
    assert [q.classification.score for q in uncertain][:2] == [0.5, 0.5]
    assert {q.post.country for q in uncertain[:2]} == {"AM", "DE"}
    audit = [q for q in queue if q.reason == "audit"]
    assert len(audit) == 2 and all(abs(q.classification.score - 0.5) >= 0.4 for q in audit)
    assert len({q.post.id for q in queue}) == len(queue)
    add_label(db_session, uncertain[0].post.id, True, by="ann")
    assert uncertain[0].post.id not in {q.post.id for q in review_queue(db_session, None)}
    assert {q.post.country for q in review_queue(db_session, ["AM"])} == {"AM"}


def test_a_small_country_and_category_are_in_the_queue_however_many_borderline_posts_a_large_one_has(db_session):
    today = dt.date.today()
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    for i in range(450):  # more exact coin-flips than the 400 most uncertain posts the queue once read in all
        make_post(db_session, am, today, f"am {i}", classification={"antisemitic": True, "score": 0.5,
                                                                    "category": "conspiracy"})
    for i, score in enumerate((0.62, 0.97, 0.01)):
        make_post(db_session, de, today, f"de {i}", classification={
            "antisemitic": score >= 0.5, "score": score, "category": "dual_loyalty" if score >= 0.5 else "none"})
    make_post(db_session, am, today, "am sure", classification={"antisemitic": False, "score": 0.02,
                                                                "category": "none"})
    queue = review_queue(db_session, None, uncertain=6, audit=3)
    uncertain = [(q.post.country, q.classification.category) for q in queue if q.reason == "uncertain"]
    assert uncertain[:2] == [("AM", "conspiracy"), ("DE", "dual_loyalty")] and len(uncertain) == 6
    audit = {(q.post.country, q.classification.category) for q in queue if q.reason == "audit"}
    assert audit == {("DE", "dual_loyalty"), ("DE", "none"), ("AM", "none")}  # one of each group


def test_tokens_cli_create_list_revoke(tmp_path):
    from monitor.cli import app
    from monitor.config import Settings, use_settings

    runner = CliRunner()
    use_settings(Settings(data_dir=tmp_path / "data"))
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        made = runner.invoke(app, ["tokens", "create", "partner-am", "--role", "analyst", "--country", "am"])
        assert made.exit_code == 0, made.output
        secret = made.output.strip().splitlines()[-1]
        assert secret.startswith("vgl_")
        listed = runner.invoke(app, ["tokens", "list"], env={"COLUMNS": "200"})
        assert "partner-am" in listed.output and "AM" in listed.output and secret not in listed.output
        assert runner.invoke(app, ["tokens", "create", "x", "--role", "root"]).exit_code != 0
        assert runner.invoke(app, ["tokens", "revoke", "1"]).exit_code == 0
        assert runner.invoke(app, ["tokens", "revoke", "99"]).exit_code != 0
        from monitor.cli.common import sessions
        from monitor.tokens import authenticate

        with sessions()() as session:
            assert authenticate(session, secret) is None
    finally:
        use_settings(None)


def test_the_api_runs_on_the_embedded_default(tmp_path):
    """SQLite in a data dir, as `vigil serve` runs after `pip install` alone."""
    import datetime as dt

    from alembic import command
    from fastapi.testclient import TestClient

    from migrations import alembic_config
    from monitor.api import create_app
    from monitor.config import Settings
    from monitor.db import session_factory
    from monitor.tokens import create_token

    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    command.upgrade(alembic_config(settings.sqlalchemy_url), "head")
    with session_factory(settings.sqlalchemy_url).begin() as session:
        token, secret = create_token(session, "local", "analyst")
        token.last_used_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    client = TestClient(create_app(settings))
    headers = {"Authorization": f"Bearer {secret}"}
    for path in ("/api/v1/me", "/api/v1/me", "/api/v1/trends", "/api/v1/posts?trigger=gaza_war", "/api/v1/alerts",
                 "/api/v1/sources", "/api/v1/reports", "/api/v1/labels"):
        assert client.get(path, headers=headers).status_code == 200, path


def test_disputed_posts_are_found_behind_many_newer_settled_ones(db_session):
    src = make_source(db_session, country="AM")
    day = dt.date.today()
    disputed = make_post(db_session, src, day, "still disputed")
    add_label(db_session, disputed.id, True, "conspiracy", by="ann")
    add_label(db_session, disputed.id, False, by="bob")
    for i in range(6):  # newer posts that were disputed and then settled: ann came round to bob's verdict
        post = make_post(db_session, src, day, f"settled {i}")
        add_label(db_session, post.id, True, "conspiracy", by="ann")
        add_label(db_session, post.id, False, by="bob")
        add_label(db_session, post.id, False, by="ann")
    assert disputed_posts(db_session, None, limit=1) == [disputed.id]
