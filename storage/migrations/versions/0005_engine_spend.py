"""engine_spend: what each engine has spent (or reserved) per UTC day, shared by every process

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'engine_spend',
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('project.id'), nullable=False),
        sa.Column('engine_id', sa.String(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('spent', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'engine_id', 'day'),
    )


def downgrade() -> None:
    op.drop_table('engine_spend')
