"""Index posts by collection time, for beat's sweep of recent posts no classification reached

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 10:40:00.000000

Built CONCURRENTLY on PostgreSQL, so ingest goes on writing posts while the index is built.
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_posts_collected_at', 'posts', ['collected_at'], unique=False, postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index('ix_posts_collected_at', table_name='posts', postgresql_concurrently=True)
