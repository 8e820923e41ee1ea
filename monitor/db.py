"""Engine, sessions, the declarative Base and a dialect-aware upsert (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import DateTime, MetaData, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout for the in-process worker.

    Its errors never show a statement's parameters: they hold post texts and handles, and a failed task's
    exception goes to the worker log.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    # A server that does not answer fails the connect after 10 s instead of holding the caller.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"connect_timeout": 10},
                         hide_parameters=True)


@lru_cache(maxsize=4)
def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine for `url`."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


def as_utc(t: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones, and everything stored is UTC."""
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


def advisory_xact_lock(session: Session, name: str, key: int | None = None) -> None:
    """Hold the advisory lock `name` (with `key`, a second integer) until the transaction ends, on PostgreSQL;
    SQLite lets one writer in at a time anyway. The one-argument and two-argument forms are separate key
    spaces."""
    if session.get_bind().dialect.name == "postgresql":
        args = [func.hashtext(name)] + ([key] if key is not None else [])
        session.execute(select(func.pg_advisory_xact_lock(*args)))


def db_now(session: Session) -> dt.datetime:
    """The database server's clock (UTC): one clock for the times that workers on different machines write and
    compare, such as delivery claims and their timeout. (On PostgreSQL, the transaction's start.)"""
    return as_utc(session.scalar(select(func.now(type_=DateTime(timezone=True)))))


def insert_for(session: Session, table):
    """An INSERT that knows ON CONFLICT for the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name}")
