"""alert states: who acknowledged and resolved an alert, and when

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:31:52.921675
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('alerts', sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('alerts', sa.Column('acknowledged_by', sa.String(length=200), nullable=True))
    op.add_column('alerts', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('alerts', sa.Column('resolved_by', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('resolved_by')
        batch.drop_column('resolved_at')
        batch.drop_column('acknowledged_by')
        batch.drop_column('acknowledged_at')
