"""Fixtures on the real servers: one PostgreSQL database per test worker, migrated once,
each test inside a transaction that is rolled back; Redis on a database of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from migrations import alembic_config

pytest_plugins = ["tests.httpserver", "tests.mailserver"]


def pytest_addoption(parser):
    parser.addoption("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                     help="an admin URL of the PostgreSQL server the tests create their databases on")
    parser.addoption("--redis-url", default="redis://127.0.0.1:6379/15",
                     help="a Redis database the tests may flush")
    parser.addoption("--screenshots", default=None,
                     help="save the browser test's screenshots here (e.g. docs) instead of a temporary folder")


def _worker(config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def pg_admin_url(pytestconfig) -> str:
    return pytestconfig.getoption("--pg-url")


def create_database(admin_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `admin_url`; return its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def migrated_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh database migrated to head, named `<prefix>_<pid>`, dropped afterwards even on failure."""
    # The pid keeps concurrent test runs on one server (two checkouts, CI beside a developer) apart.
    name = f"{prefix}_{os.getpid()}"
    url = create_database(admin_url, name)
    try:
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        drop_database(admin_url, name)


@pytest.fixture(scope="session")
def pg_url(pytestconfig, pg_admin_url):
    """A migrated database for this test worker."""
    with migrated_database(pg_admin_url, f"vigil_test_{_worker(pytestconfig)}") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(pg_engine):
    """A Session on real PostgreSQL whose work is rolled back after the test, commits included."""
    with pg_engine.connect() as conn:
        trans = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            trans.rollback()


@pytest.fixture
def task_sessions(db_session, monkeypatch):
    """workers.tasks with each `sessions()` a savepoint of the test's transaction: a task's commit is seen by
    its retry and by the test, and all of it is rolled back after the test."""
    from sqlalchemy.orm import sessionmaker

    from workers import tasks as module

    factory = sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    monkeypatch.setattr(module, "sessions", lambda: factory)
    return module


@pytest.fixture(scope="session")
def redis_url(pytestconfig) -> str:
    import redis

    url = pytestconfig.getoption("--redis-url")
    redis.Redis.from_url(url).ping()
    return url
