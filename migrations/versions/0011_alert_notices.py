"""Alert notices: an alert that reopens or escalates is announced again to everyone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 13:20:00.000000

`alerts.notice` counts the announcements of an event (1 when opened, one more each time it reopens after
being resolved or escalates; `notice_reason` says which), and each delivery attempt belongs to one notice,
so the claim keys gain the notice. Rows already stored belong to notice 1. On PostgreSQL the old and new
keys are swapped in one transaction, so no moment is without one. The downgrade keeps the first notice's
rows only: the old key cannot hold two.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ADMIN_ONLY = "channel = 'admin_email'"


def _keys(*leading: str) -> None:
    op.create_index('uq_deliveries_attempt', 'deliveries', [*leading, 'subscriber_id', 'channel', 'attempt'],
                    unique=True)
    op.create_index('uq_deliveries_admin_attempt', 'deliveries', [*leading, 'attempt'], unique=True,
                    postgresql_where=sa.text(ADMIN_ONLY), sqlite_where=sa.text(ADMIN_ONLY))


def _drop_keys() -> None:
    op.drop_index('uq_deliveries_admin_attempt', table_name='deliveries',
                  postgresql_where=sa.text(ADMIN_ONLY), sqlite_where=sa.text(ADMIN_ONLY))
    op.drop_index('uq_deliveries_attempt', table_name='deliveries')


def upgrade() -> None:
    op.add_column('alerts', sa.Column('notice', sa.Integer(), server_default='1', nullable=False))
    op.add_column('alerts', sa.Column('notice_reason', sa.String(length=20), server_default='opened', nullable=False))
    op.add_column('deliveries', sa.Column('notice', sa.Integer(), server_default='1', nullable=False))
    _drop_keys()
    _keys('alert_id', 'notice')


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE notice > 1")
    _drop_keys()
    _keys('alert_id')
    # Plain DROP COLUMN (SQLite 3.35 has it): a batch copy of `alerts` would drop the table, and with it
    # every delivery row by the cascade.
    op.drop_column('deliveries', 'notice')
    op.drop_column('alerts', 'notice_reason')
    op.drop_column('alerts', 'notice')
