"""Report runs record the countries their report covers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 16:40:00.000000

`report_runs.countries` (comma-separated, sorted; NULL for all countries) is what a run's report holds, so a
token scoped to a country sees a run by its content, not by what its subscriber follows now. Existing runs are
filled in from their scope ("countries:<codes>") or, for a subscriber's run, from the subscriber's countries
as they are at the upgrade (the best record there is).
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _codes(value) -> str | None:
    countries = json.loads(value) if isinstance(value, str) else value
    return ",".join(sorted({str(c).upper() for c in countries})) if countries else None


def upgrade() -> None:
    op.add_column('report_runs', sa.Column('countries', sa.String(length=1000), nullable=True))
    bind = op.get_bind()
    runs = sa.table('report_runs', sa.column('id', sa.Integer), sa.column('scope', sa.String),
                    sa.column('countries', sa.String))
    subscribers = sa.table('subscribers', sa.column('id', sa.Integer), sa.column('countries', sa.JSON))
    following = {sid: _codes(countries) for sid, countries in bind.execute(sa.select(subscribers.c.id,
                                                                                      subscribers.c.countries))}
    for run_id, scope in bind.execute(sa.select(runs.c.id, runs.c.scope)).all():
        if scope.startswith("countries:"):
            codes = _codes(scope.removeprefix("countries:").split(","))
        elif scope.startswith("subscriber:") and scope.removeprefix("subscriber:").isdigit():
            codes = following.get(int(scope.removeprefix("subscriber:")))
        else:
            continue
        bind.execute(sa.update(runs).where(runs.c.id == run_id).values(countries=codes))


def downgrade() -> None:
    op.drop_column('report_runs', 'countries')
