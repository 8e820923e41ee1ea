"""Rejected rows recorded once: a fingerprint of source, location, error and raw row, unique

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 07:00:00.000000

Re-importing a file or redelivering an import task used to record each rejected row again. Failed fetches
keep a NULL fingerprint (each failure is an event of its own; NULLs never conflict). Existing rows keep
NULL: they are not de-duplicated after the fact.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_errors') as batch:
        batch.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f('uq_ingest_errors_fingerprint'), ['fingerprint'])


def downgrade() -> None:
    with op.batch_alter_table('ingest_errors') as batch:
        batch.drop_constraint(op.f('uq_ingest_errors_fingerprint'), type_='unique')
        batch.drop_column('fingerprint')
