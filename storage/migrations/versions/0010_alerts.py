"""alerts: the events the alert rules found, the digests announcing them and their delivery per channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_digest',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('project.id'), nullable=False),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('run.id'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lang', sa.String(), nullable=False),
        sa.Column('title', sa.String(), nullable=False),
        sa.Column('body', sa.String(), nullable=False),
    )
    op.create_table(
        'alert_event',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('project.id'), nullable=False),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('run.id'), nullable=False),
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('keyword_id', sa.Integer(), sa.ForeignKey('keyword.id'), nullable=True),
        sa.Column('engine_id', sa.String(), nullable=True),
        sa.Column('subject', sa.String(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_run_id', sa.Integer(), sa.ForeignKey('run.id'), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('digest_id', sa.Integer(), sa.ForeignKey('alert_digest.id'), nullable=True),
    )
    op.create_index('ix_alert_event_open', 'alert_event', ['project_id', 'kind', 'closed_run_id'])
    op.create_index('ix_alert_event_run', 'alert_event', ['project_id', 'run_id'])
    op.create_table(
        'alert_delivery',
        sa.Column('digest_id', sa.Integer(), sa.ForeignKey('alert_digest.id'), nullable=False),
        sa.Column('channel', sa.String(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(), nullable=True),
        sa.PrimaryKeyConstraint('digest_id', 'channel'),
    )


def downgrade() -> None:
    op.drop_table('alert_delivery')
    op.drop_index('ix_alert_event_run', 'alert_event')
    op.drop_index('ix_alert_event_open', 'alert_event')
    op.drop_table('alert_event')
    op.drop_table('alert_digest')
