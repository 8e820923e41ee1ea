"""The schema is made by Alembic alone: upgrade, check against the models, and a downgrade round trip."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import MetaData, create_engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alembic import command
from migrations import alembic_config
from monitor.models import Delivery, ReportRun, Subscriber
from tests.conftest import create_database, drop_database


def test_upgrade_check_and_round_trip(pg_admin_url, pytestconfig):
    name = f"vigil_migr_{getattr(pytestconfig, 'workerinput', {}).get('workerid', 'main')}_{os.getpid()}"
    url = create_database(pg_admin_url, name)
    cfg = alembic_config(url)
    try:
        command.upgrade(cfg, "head")
        command.check(cfg)  # raises if the models and the migrations disagree
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert {"sources", "posts", "classifications", "rollups", "alerts", "subscribers",
                "report_runs", "ingest_errors"} <= tables
        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        command.check(cfg)
        engine.dispose()
    finally:
        drop_database(pg_admin_url, name)


def test_migrations_run_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'v.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.check(cfg)
    command.downgrade(cfg, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path, pg_admin_url, pytestconfig):
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v.db'}"
        return
    name = f"vigil_migr9_{getattr(pytestconfig, 'workerinput', {}).get('workerid', 'main')}_{os.getpid()}"
    yield create_database(pg_admin_url, name)
    drop_database(pg_admin_url, name)


def _at_revision(url: str, revision: str, tables: list[str]):
    """(alembic config, engine, tables as `revision` made them): the database upgraded to `revision` only, its
    tables reflected, since the models' later columns are not there yet."""
    cfg = alembic_config(url)
    command.upgrade(cfg, revision)
    engine = create_engine(url)
    old = MetaData()
    old.reflect(engine, only=tables)
    return cfg, engine, old.tables


def test_0009_renumbers_repeated_attempts_and_its_downgrade_ends_claims(empty_url):
    cfg, engine, tables = _at_revision(empty_url, "0008", ["alerts", "deliveries"])
    day, now = dt.date(2024, 2, 1), dt.datetime.now(dt.timezone.utc)
    with Session(engine) as session, session.begin():
        [alert_id] = session.execute(insert(tables["alerts"]).returning(tables["alerts"].c.id), [
            {"country": "AM", "kind": "spike", "metric": "m", "status": "open", "severity": "high", "started_on": day,
             "last_seen_on": day, "observed": 30, "expected": 6, "score": 9.5, "details": {}, "created_at": now,
             "updated_at": now}]).scalars().all()
        sub = Subscriber(email="ngo@example.org", countries=["AM"])
        session.add(sub)
        session.flush()
        ids = alert_id, sub.id
        # Two overlapping rounds each recorded attempt 1: of the subscriber's e-mail and of the admin note;
        # a deleted subscriber's rows (NULL) never conflict and are left alone.
        session.execute(insert(tables["deliveries"]), [{"created_at": now} | row for row in [
            {"alert_id": alert_id, "subscriber_id": sub.id, "channel": "email", "attempt": 1, "status": "sent"},
            {"alert_id": alert_id, "subscriber_id": sub.id, "channel": "email", "attempt": 1, "status": "sent"},
            {"alert_id": alert_id, "subscriber_id": sub.id, "channel": "webhook", "attempt": 1, "status": "failed"},
            {"alert_id": alert_id, "subscriber_id": None, "channel": "admin_email", "attempt": 1, "status": "sent"},
            {"alert_id": alert_id, "subscriber_id": None, "channel": "admin_email", "attempt": 1, "status": "sent"},
            {"alert_id": alert_id, "subscriber_id": None, "channel": "email", "attempt": 1, "status": "failed"},
            {"alert_id": alert_id, "subscriber_id": None, "channel": "email", "attempt": 1, "status": "failed"},
        ]])
    deliveries = Delivery.__table__

    def rows():
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(deliveries.c.subscriber_id, deliveries.c.channel,
                                                          deliveries.c.attempt, deliveries.c.status)
                                                   .order_by(deliveries.c.id))]

    command.upgrade(cfg, "head")
    alert_id, sub_id = ids
    assert rows() == [(sub_id, "email", 1, "sent"), (sub_id, "email", 2, "sent"), (sub_id, "webhook", 1, "failed"),
                      (None, "admin_email", 1, "sent"), (None, "admin_email", 2, "sent"),
                      (None, "email", 1, "failed"), (None, "email", 1, "failed")]
    claim = {"alert_id": alert_id, "subscriber_id": sub_id, "channel": "webhook", "attempt": 2, "status": "sending"}
    with engine.begin() as conn:
        conn.execute(insert(deliveries), [claim])
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert(deliveries), [claim])  # the key: one round per attempt
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert(deliveries), [{"alert_id": alert_id, "subscriber_id": None,
                                               "channel": "admin_email", "attempt": 2, "status": "sending"}])
        # Other channels with NULL subscribers are outside the admin note's key.
        conn.execute(insert(deliveries), [{"alert_id": alert_id, "subscriber_id": None, "channel": "webhook",
                                           "attempt": 2, "status": "failed"}] * 2)
    command.downgrade(cfg, "0008")
    assert rows()[7] == (sub_id, "webhook", 2, "failed")  # the old code knows sent and failed only
    assert "ix_deliveries_alert" in {i["name"] for i in inspect(engine).get_indexes("deliveries")}
    engine.dispose()


def test_0011_keys_attempts_per_notice_and_its_downgrade_keeps_the_first_notice(empty_url):
    cfg, engine, tables = _at_revision(empty_url, "0010", ["alerts", "deliveries"])
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        [alert_id] = conn.execute(insert(tables["alerts"]).returning(tables["alerts"].c.id), [
            {"country": "AM", "kind": "spike", "metric": "m", "status": "open", "severity": "high",
             "started_on": now.date(), "last_seen_on": now.date(), "observed": 30, "expected": 6, "score": 9.5,
             "details": {}, "created_at": now, "updated_at": now}]).scalars().all()
        conn.execute(insert(tables["deliveries"]), [{"alert_id": alert_id, "subscriber_id": None,
                                                         "channel": "admin_email", "attempt": 1, "status": "sent",
                                                         "created_at": now}])
    command.upgrade(cfg, "head")
    deliveries = Delivery.__table__
    second = {"alert_id": alert_id, "subscriber_id": None, "channel": "admin_email", "attempt": 1, "notice": 2,
              "status": "sent", "created_at": now}
    with engine.begin() as conn:
        assert conn.execute(select(deliveries.c.notice)).scalars().all() == [1]  # stored rows: the first notice
        conn.execute(insert(deliveries), [second])  # the next notice's attempt 1: a key of its own
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert(deliveries), [second])
    command.downgrade(cfg, "0010")
    with engine.connect() as conn:
        assert conn.execute(select(tables["deliveries"].c.attempt)).scalars().all() == [1]
    assert "notice" not in {c["name"] for c in inspect(engine).get_columns("alerts")}
    engine.dispose()


def test_0012_fills_in_the_countries_of_stored_report_runs(empty_url):
    cfg, engine, tables = _at_revision(empty_url, "0011", ["subscribers", "report_runs"])
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        [sub_id] = conn.execute(insert(tables["subscribers"]).returning(tables["subscribers"].c.id), [
            {"email": "a@example.org", "countries": ["GE", "am"], "min_severity": "warning", "active": True,
             "created_at": now, "timezone": "UTC", "report_weekday": 0, "report_hour": 8}]).scalars().all()
        conn.execute(insert(tables["report_runs"]), [
            {"scope": scope, "iso_week": "2024-W08", "status": "success", "started_at": now}
            for scope in (f"subscriber:{sub_id}", "subscriber:999", "countries:DE", "all")])
    command.upgrade(cfg, "head")
    runs = ReportRun.__table__
    with engine.connect() as conn:
        got = dict(conn.execute(select(runs.c.scope, runs.c.countries)).all())
    assert got == {f"subscriber:{sub_id}": "AM,GE", "subscriber:999": None, "countries:DE": "DE", "all": None}
    command.downgrade(cfg, "0011")
    assert "countries" not in {c["name"] for c in inspect(engine).get_columns("report_runs")}
    engine.dispose()
