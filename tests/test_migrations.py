"""The schema is made by Alembic alone: upgrade, check against the models, and a downgrade round trip."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, inspect

from alembic import command
from migrations import alembic_config
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
