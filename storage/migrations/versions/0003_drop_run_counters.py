"""drop run.ok_count, run.failed_count and run.cost: written, never read (observations hold the truth)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('ok_count')
        batch_op.drop_column('failed_count')
        batch_op.drop_column('cost')


def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failed_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ok_count', sa.Integer(), nullable=False, server_default='0'))
