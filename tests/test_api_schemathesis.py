"""Schemathesis fuzzes every API operation in-process (ASGI) on a scratch PostgreSQL database with
committed rows: no 5xx, every status documented, every body as the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.api import create_app
from monitor.config import Settings
from tests.conftest import migrated_database
from tests.test_api_support import bearer, seed

MAX_EXAMPLES = 12  # per operation and phase: the whole run stays well under a minute
# Left out, on purpose: the API checks more than a schema can say (a country code must exist, a
# trigger must be in the taxonomy, a date range is at most two years), so some schema-valid requests
# are rightly refused with 422; and query strings are parsed leniently (a number is a Unix time, an
# unknown parameter is ignored). Bodies are strict (no 0 for false, no unknown fields).
LENIENT = [positive_data_acceptance, negative_data_rejection]
_database: dict[str, sessionmaker] = {}


def _sessions() -> Session:
    return _database["sessions"]()


# The schema is read at import (schemathesis' lazy fixture loader does not run on pytest 9); the
# requests reach the database the module fixture makes.
app = create_app(Settings(database_url="postgresql+psycopg://unused/unused", api_rate_limit_per_minute=0),
                 sessions=_sessions)
# Revoking tokens would let the fuzzer lock itself out; revocation has its own tests.
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).exclude(method="DELETE")


@pytest.fixture(scope="module")
def fuzz_db(pg_admin_url, tmp_path_factory):
    with migrated_database(pg_admin_url, "vigil_fuzz") as url:
        engine = create_engine(url)
        data_dir = tmp_path_factory.mktemp("fuzz")
        with Session(engine) as session, session.begin():
            seeded = seed(session, report_dir=data_dir)
        app.state.settings = Settings(database_url=url, data_dir=data_dir, api_rate_limit_per_minute=0)
        _database["sessions"] = sessionmaker(bind=engine, expire_on_commit=False)
        yield seeded
        _database.clear()
        engine.dispose()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_admin(case, fuzz_db):
    case.call_and_validate(headers=bearer(fuzz_db.tokens["admin"]), excluded_checks=LENIENT)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_a_country_scoped_viewer(case, fuzz_db):
    response = case.call_and_validate(headers=bearer(fuzz_db.tokens["am_viewer"]), excluded_checks=LENIENT)
    assert '"country":"DE"' not in response.text.replace(" ", "")
