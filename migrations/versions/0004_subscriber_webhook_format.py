"""subscribers choose a webhook format: plain JSON or Slack-compatible

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:31:52.921675
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('subscribers', sa.Column('webhook_format', sa.String(length=20), server_default='json', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('webhook_format')
