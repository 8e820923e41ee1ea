"""API tokens (hashed, role, country scope), analysts' labels on posts, and the audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:50:41.268556
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=True),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_api_tokens_secret_hash')),
    )
    op.create_table(
        'audit_events',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('detail', JSON, nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_audit_events_token_id_api_tokens'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'], unique=False)
    op.create_table(
        'labels',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('post_id', BIG_ID, nullable=False),
        sa.Column('antisemitic', sa.Boolean(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('triggers', JSON, nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('labelled_by', sa.String(length=200), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_labels_post_id_posts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_labels_token_id_api_tokens'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    )
    op.create_index('ix_labels_post', 'labels', ['post_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_labels_post', table_name='labels')
    op.drop_table('labels')
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_table('api_tokens')
