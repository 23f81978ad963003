"""traffic: log files read; AI referrals, AI crawler hits and analytics sessions as daily counts; bot ranges

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_CLUSTERED = {'sqlite_with_rowid': False}


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default='0')


def _key() -> list[sa.Column]:
    return [sa.Column('project_id', sa.Integer(), sa.ForeignKey('project.id'), primary_key=True),
            sa.Column('day', sa.Date(), primary_key=True)]


def upgrade() -> None:
    op.create_table(
        'traffic_file',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('project.id'), nullable=False),
        sa.Column('head_hash', sa.String(), nullable=False),
        sa.Column('head_len', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(), nullable=False),
        sa.Column('format', sa.String(), nullable=False),
        sa.Column('bytes_read', sa.BigInteger(), nullable=False),
        sa.Column('lines_read', sa.BigInteger(), nullable=False),
        sa.Column('malformed', sa.BigInteger(), nullable=False),
        sa.Column('first_read_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('project_id', 'head_len', 'head_hash'),
    )
    op.create_table(
        'ai_referral_day', *_key(),
        sa.Column('source', sa.String(), primary_key=True),
        sa.Column('path', sa.String(), primary_key=True),
        _counter('pageviews'), _counter('visits'),
        **_CLUSTERED,
    )
    op.create_table(
        'ai_crawler_day', *_key(),
        sa.Column('bot', sa.String(), primary_key=True),
        sa.Column('purpose', sa.String(), primary_key=True),
        sa.Column('verification', sa.String(), primary_key=True),
        sa.Column('path', sa.String(), primary_key=True),
        _counter('hits'),
        **_CLUSTERED,
    )
    op.create_table(
        'analytics_session_day', *_key(),
        sa.Column('view', sa.String(), primary_key=True),
        sa.Column('source', sa.String(), primary_key=True),
        sa.Column('path', sa.String(), primary_key=True),
        _counter('sessions'),
        **_CLUSTERED,
    )
    op.create_table(
        'bot_range',
        sa.Column('bot', sa.String(), primary_key=True),
        sa.Column('network', sa.String(), primary_key=True),
        sa.Column('source', sa.String(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ('bot_range', 'analytics_session_day', 'ai_crawler_day', 'ai_referral_day', 'traffic_file'):
        op.drop_table(table)
