"""Country-days whose rollups lag behind their classifications

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 19:20:00.000000

A classify batch marks the days it touched in `stale_days` in its own transaction; a recompute takes the
marks of a country and recomputes those days once, however many batches marked them meanwhile. Before,
every batch recomputed each day it touched in full (bench/rollup_cost.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stale_days',
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('country', 'day', name=op.f('pk_stale_days')),
    )


def downgrade() -> None:
    op.drop_table('stale_days')
