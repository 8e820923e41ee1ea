"""Delivery attempts claimed before sending: unique per (alert, subscriber, channel, attempt)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:00:00.000000

A round now inserts each attempt as a `sending` row before it sends, and the unique key lets only one
round insert it. The key replaces ix_deliveries_alert (same leading columns). The admin note has no
subscriber, and NULLs never conflict, so its attempts get a partial key of their own.

Overlapping rounds used to record the same attempt number twice for one (alert, subscriber, channel);
such groups are renumbered 1, 2, ... in (attempt, id) order before the key is built. Rows of deleted
subscribers (subscriber_id NULL, never in conflict) are left as they are. The downgrade records any
attempt still `sending` as failed, the only other state the old code knows.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ADMIN_ONLY = "channel = 'admin_email'"

deliveries = sa.table('deliveries', sa.column('id'), sa.column('alert_id'), sa.column('subscriber_id'),
                      sa.column('channel'), sa.column('attempt'), sa.column('status'), sa.column('error'))


def _renumber_repeated_attempts(bind) -> None:
    d = deliveries.c
    repeated = bind.execute(
        sa.select(d.alert_id, d.subscriber_id, d.channel).distinct()
        .group_by(d.alert_id, d.subscriber_id, d.channel, d.attempt).having(sa.func.count() > 1)
    ).all()
    for alert_id, subscriber_id, channel in repeated:
        if subscriber_id is None and channel != 'admin_email':
            continue
        same = d.subscriber_id.is_(None) if subscriber_id is None else d.subscriber_id == subscriber_id
        rows = bind.execute(sa.select(d.id, d.attempt).where(d.alert_id == alert_id, same, d.channel == channel)
                            .order_by(d.attempt, d.id)).all()
        for number, (row_id, attempt) in enumerate(rows, start=1):
            if attempt != number:
                bind.execute(sa.update(deliveries).where(d.id == row_id).values(attempt=number))


def upgrade() -> None:
    _renumber_repeated_attempts(op.get_bind())
    op.drop_index('ix_deliveries_alert', table_name='deliveries')
    op.create_index('uq_deliveries_attempt', 'deliveries', ['alert_id', 'subscriber_id', 'channel', 'attempt'],
                    unique=True)
    op.create_index('uq_deliveries_admin_attempt', 'deliveries', ['alert_id', 'attempt'], unique=True,
                    postgresql_where=sa.text(ADMIN_ONLY), sqlite_where=sa.text(ADMIN_ONLY))


def downgrade() -> None:
    op.execute(sa.update(deliveries).where(deliveries.c.status == 'sending')
               .values(status='failed', error='claim dropped by a downgrade'))
    op.drop_index('uq_deliveries_admin_attempt', table_name='deliveries',
                  postgresql_where=sa.text(ADMIN_ONLY), sqlite_where=sa.text(ADMIN_ONLY))
    op.drop_index('uq_deliveries_attempt', table_name='deliveries')
    op.create_index('ix_deliveries_alert', 'deliveries', ['alert_id', 'subscriber_id', 'channel'], unique=False)
