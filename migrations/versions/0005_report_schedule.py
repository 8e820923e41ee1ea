"""weekly report schedule per subscriber; report runs record attempts, recipients and admin alerts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:37:34.348490
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

RUN_COLUMNS = ('due_at', 'attempts', 'next_attempt_at', 'recipients', 'sends', 'admin_alerted_at')


def upgrade() -> None:
    op.add_column('report_runs', sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('report_runs', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('report_runs', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('report_runs', sa.Column(
        'recipients', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.add_column('report_runs', sa.Column('sends', sa.Integer(), server_default='0', nullable=False))
    op.add_column('report_runs', sa.Column('admin_alerted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('subscribers', sa.Column('report_weekday', sa.Integer(), server_default='0', nullable=False))
    op.add_column('subscribers', sa.Column('report_hour', sa.Integer(), server_default='8', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('report_hour')
        batch.drop_column('report_weekday')
    with op.batch_alter_table('report_runs') as batch:
        for column in reversed(RUN_COLUMNS):
            batch.drop_column(column)
