"""payload_dictionary: zstd dictionaries per engine kind; raw_payload names its codec and dictionary

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

Every stored payload keeps its bytes and becomes codec `zlib` (the server default), with no dictionary;
new payloads are stored with zstd (storage.compression). A downgrade first rewrites every zstd payload
as zlib level 6, which is what the schema before this one reads, then drops the columns and the table.
"""
import zlib

import sqlalchemy as sa
import zstandard
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# payloads rewritten per statement batch on downgrade (each up to a few hundred KB)
_BATCH = 500
_FOREIGN_KEY = 'fk_raw_payload_dictionary_id_payload_dictionary'


def upgrade() -> None:
    op.create_table(
        'payload_dictionary',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('engine_kind', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('sample_count', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_payload_dictionary_engine_kind', 'payload_dictionary', ['engine_kind', 'id'])
    # Plain ADD COLUMNs, also on SQLite (which takes a REFERENCES clause on a column whose default is NULL,
    # where alembic would want a batch operation): a batch would copy all of raw_payload, the largest table.
    op.add_column('raw_payload', sa.Column('codec', sa.String(), nullable=False, server_default='zlib'))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE raw_payload ADD COLUMN dictionary_id INTEGER CONSTRAINT {_FOREIGN_KEY} "
                   "REFERENCES payload_dictionary (id)")
    else:
        op.add_column('raw_payload', sa.Column('dictionary_id', sa.Integer(), nullable=True))
        op.create_foreign_key(_FOREIGN_KEY, 'raw_payload', 'payload_dictionary', ['dictionary_id'], ['id'])


def downgrade() -> None:
    connection = op.get_bind()
    dictionaries = {
        dictionary_id: zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(
            data, dict_type=zstandard.DICT_TYPE_FULLDICT))
        for dictionary_id, data in connection.execute(sa.text("SELECT id, data FROM payload_dictionary"))
    }
    plain = zstandard.ZstdDecompressor()
    raw_payload = sa.table('raw_payload', sa.column('hash', sa.String()), sa.column('data', sa.LargeBinary()),
                           sa.column('codec', sa.String()), sa.column('dictionary_id', sa.Integer()))
    after = ''
    while True:  # keyset pages by hash: each row read once, whatever the batch rewrote before
        rows = connection.execute(
            sa.text("SELECT hash, codec, dictionary_id, data FROM raw_payload WHERE codec <> 'zlib' AND hash > :after "
                    "ORDER BY hash LIMIT :limit"), {"after": after, "limit": _BATCH}).all()
        if not rows:
            break
        for digest, codec, dictionary_id, data in rows:
            if codec != 'zstd':
                raise RuntimeError(f"raw payload {digest} is stored with codec {codec!r}, which this "
                                   "migration cannot rewrite")
            raw = (dictionaries[dictionary_id] if dictionary_id is not None else plain).decompress(bytes(data))
            connection.execute(raw_payload.update().where(raw_payload.c.hash == digest)
                               .values(data=zlib.compress(raw, 6), codec='zlib', dictionary_id=None))
        after = rows[-1][0]
    with op.batch_alter_table('raw_payload', schema=None) as batch_op:
        if connection.dialect.name != 'sqlite':  # SQLite keeps no name for it: the rebuilt table goes without
            batch_op.drop_constraint(_FOREIGN_KEY, type_='foreignkey')
        batch_op.drop_column('dictionary_id')
        batch_op.drop_column('codec')
    op.drop_index('ix_payload_dictionary_engine_kind', table_name='payload_dictionary')
    op.drop_table('payload_dictionary')
