"""mention third: where in the answer's prose an entity is first named

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

The first, middle and last thirds of mention-position KPIs were measured on character offsets into the
raw answer, where an engine's citation markup (OpenAI's inline "([acme.com](https://...))" links against
Qwen's "[ref_1]") moved a mention from one third to another. Analysis now measures the third on the prose
and stores it; rows stored before stay NULL and are counted by offset, as before (`citewatch reparse --all`
measures them again).
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN, not a batch rebuild: the table stays WITHOUT ROWID on SQLite
    op.add_column('mention', sa.Column('third', sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch rebuild would lose WITHOUT ROWID
    op.drop_column('mention', 'third')
