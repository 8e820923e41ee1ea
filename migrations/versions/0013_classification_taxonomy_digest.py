"""Classifications record the digest of the trigger taxonomy that tagged them

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 18:40:00.000000

`classifications.taxonomy_digest` is `Taxonomy.digest` (a hash of the parsed `triggers.yaml`) at the time the post
was tagged, so `vigil reclassify` finds the stored posts an edit of the YAML has not reached. Rows stored
before it are NULL: the first `vigil reclassify` after the upgrade tags them all once more. A nullable column
without a default: PostgreSQL adds it without rewriting the table.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('classifications', sa.Column('taxonomy_digest', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('classifications') as batch:
        batch.drop_column('taxonomy_digest')
