"""Classifications keep the terms that most raised their score

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 21:40:00.000000

`classifications.explanation` is the model's explanation of a flagged post (the few n-grams or terms that most
raised its score, as `vigil classify` writes them), so the API and the review queue can show analysts why a post
was flagged. Rows stored before it are NULL until they are classified again. A nullable column without a
default: PostgreSQL adds it without rewriting the table.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('classifications', sa.Column(
        'explanation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('classifications') as batch:
        batch.drop_column('explanation')
