"""observation_part: the named parts of a raw result; observation_feature: SERP features as rows; organic
results keep their snippet and content type

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Every observation stored with a raw payload gets its one part, `response`; its features move from the
JSON list on the observation to one row each, and that column goes. A downgrade puts the features back in
the list; of a multi-part result only the first part stays reachable (the observation's raw_hash), the
other parts' payloads staying in raw_payload.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'observation_part',
        sa.Column('observation_id', sa.Integer(), sa.ForeignKey('observation.id'), nullable=False),
        sa.Column('ordinal', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('media_type', sa.String(), nullable=False),
        sa.Column('raw_hash', sa.String(length=64), sa.ForeignKey('raw_payload.hash'), nullable=False),
        sa.PrimaryKeyConstraint('observation_id', 'ordinal'),
    )
    op.create_table(
        'observation_feature',
        sa.Column('observation_id', sa.Integer(), sa.ForeignKey('observation.id'), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('observation_id', 'name'),
    )
    op.create_index('ix_observation_feature_name', 'observation_feature', ['name'])
    op.execute("INSERT INTO observation_part (observation_id, ordinal, name, media_type, raw_hash) "
               "SELECT id, 0, 'response', 'application/json', raw_hash FROM observation WHERE raw_hash IS NOT NULL")
    connection = op.get_bind()
    features = sa.table('observation_feature', sa.column('observation_id'), sa.column('name'))
    rows = [
        {"observation_id": observation_id, "name": name}
        for observation_id, stored in connection.execute(sa.text("SELECT id, features FROM observation"))
        for name in dict.fromkeys(_names(stored))
    ]
    if rows:
        op.bulk_insert(features, rows)
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_column('features')
    with op.batch_alter_table('organic_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snippet', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('content_type', sa.String(), nullable=False, server_default='other'))


def _names(stored: object) -> list[str]:
    """A JSON list as the driver returns it: decoded already (PostgreSQL) or as text (SQLite)."""
    values = json.loads(stored) if isinstance(stored, str) else stored
    return [value for value in values or [] if isinstance(value, str)]


def downgrade() -> None:
    with op.batch_alter_table('organic_result', schema=None) as batch_op:
        batch_op.drop_column('content_type')
        batch_op.drop_column('snippet')
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('features', sa.JSON(), nullable=False, server_default='[]'))
    connection = op.get_bind()
    names: dict[int, list[str]] = {}
    for observation_id, name in connection.execute(
            sa.text("SELECT observation_id, name FROM observation_feature ORDER BY observation_id, name")):
        names.setdefault(observation_id, []).append(name)
    observation = sa.table('observation', sa.column('id'), sa.column('features', sa.JSON()))
    for observation_id, features in names.items():
        connection.execute(observation.update().where(observation.c.id == observation_id).values(features=features))
    op.drop_index('ix_observation_feature_name', table_name='observation_feature')
    op.drop_table('observation_feature')
    op.drop_table('observation_part')
