"""sources stored once; citations and organic results reference them; answers stored compressed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A page's URL, title, owner, page type and domain class move from every citation and organic result to one
`source` row (storage.sources): citations keep their position, flags, spans and visibility, and the
engine's URL only where it redirects to another host. Observations keep their answer text zstd-compressed
with the engine kind's newest payload dictionary (`answer`, `answer_dictionary_id`), and its length
(`answer_chars`, which the rollups need). Together they cut a year of history by about a third
(bench/history.py). Rows are moved in chunks by id; a downgrade puts every column back as it was.
"""
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from storage import payload_store, sources

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

CHUNK = 5000
CITATION_PAGE = ('normalized_url', 'domain', 'title', 'owner_id', 'content_type', 'domain_class')
ORGANIC_PAGE = ('url', 'domain', 'owner_id', 'title', 'content_type')


def upgrade() -> None:
    op.create_table(
        'source',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=32), nullable=False),
        sa.Column('url', sa.String(), nullable=False),
        sa.Column('normalized_url', sa.String(), nullable=True),
        sa.Column('domain', sa.String(), nullable=True),
        sa.Column('title', sa.String(), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(), nullable=False),
        sa.Column('domain_class', sa.String(), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['tracked_entity.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hash'),
    )
    for table in ('citation', 'organic_result'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
            if table == 'citation':
                batch.alter_column('url', existing_type=sa.String(), nullable=True)
    connection = op.get_bind()
    _move_pages(connection)
    with op.batch_alter_table('citation') as batch:
        batch.drop_index('ix_citation_owner_id')
        for column in CITATION_PAGE:
            batch.drop_column(column)
        batch.alter_column('source_id', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key('fk_citation_source_id_source', 'source', ['source_id'], ['id'])
    with op.batch_alter_table('organic_result') as batch:
        for column in ORGANIC_PAGE:
            batch.drop_column(column)
        batch.alter_column('source_id', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key('fk_organic_result_source_id_source', 'source', ['source_id'], ['id'])

    with op.batch_alter_table('observation') as batch:
        batch.add_column(sa.Column('answer', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('answer_dictionary_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('answer_chars', sa.Integer(), nullable=True))
    _pack_answers(connection)
    with op.batch_alter_table('observation') as batch:
        batch.drop_column('answer_text')
        batch.create_foreign_key('fk_observation_answer_dictionary_id_payload_dictionary', 'payload_dictionary',
                                 ['answer_dictionary_id'], ['id'])


def _chunks(connection: sa.Connection, query: str) -> Iterator[list[sa.Row]]:
    """The rows of `query` (which selects `id` first and takes :after), in id order, CHUNK at a time."""
    after = 0
    while rows := connection.execute(sa.text(query + ' ORDER BY id LIMIT :limit'),
                                     dict(after=after, limit=CHUNK)).all():
        yield rows
        after = rows[-1][0]


def _move_pages(connection: sa.Connection) -> None:
    citation = sa.table('citation', sa.column('id'), sa.column('source_id'), sa.column('url'))
    organic = sa.table('organic_result', sa.column('id'), sa.column('source_id'))
    known: dict[str, int] = {}
    for rows in _chunks(connection, 'SELECT id, url, normalized_url, domain, title, owner_id, content_type, '
                                    'domain_class FROM citation WHERE id > :after'):
        ids = _source_ids(connection, known, [sources.citation_source(*row[1:]) for row in rows])
        connection.execute(citation.update().where(citation.c.id == sa.bindparam('row_id'))
                           .values(source_id=sa.bindparam('source'), url=sa.bindparam('redirect')),
                           [dict(row_id=row.id, source=source, redirect=sources.redirect_url(row.url, row.normalized_url))
                            for row, source in zip(rows, ids, strict=True)])
    for rows in _chunks(connection, 'SELECT id, url, domain, title, owner_id, content_type FROM organic_result '
                                    'WHERE id > :after'):
        ids = _source_ids(connection, known, [sources.organic_source(*row[1:]) for row in rows])
        connection.execute(organic.update().where(organic.c.id == sa.bindparam('row_id'))
                           .values(source_id=sa.bindparam('source')),
                           [dict(row_id=row.id, source=source) for row, source in zip(rows, ids, strict=True)])


def _source_ids(connection: sa.Connection, known: dict[str, int], rows: list[sources.SourceRow]) -> list[int]:
    """The id of each row's source, inserting the ones `known` (hash -> id) does not hold yet."""
    source = sa.table('source', *(sa.column(name) for name in ('id', 'hash', *sources.SourceRow._fields)))
    new = {row.hash: row for row in rows if row.hash not in known}
    if new:
        connection.execute(source.insert(), [dict(row._asdict(), hash=digest) for digest, row in new.items()])
        known.update(connection.execute(sa.select(source.c.hash, source.c.id).where(source.c.hash.in_(list(new)))).all())
    return [known[row.hash] for row in rows]


def _pack_answers(connection: sa.Connection) -> None:
    observation = sa.table('observation', sa.column('id'), sa.column('answer'), sa.column('answer_dictionary_id'),
                           sa.column('answer_chars'))
    for rows in _chunks(connection, 'SELECT id, engine_kind, answer_text FROM observation '
                                    'WHERE id > :after AND answer_text IS NOT NULL'):
        connection.execute(
            observation.update().where(observation.c.id == sa.bindparam('row_id'))
            .values(answer=sa.bindparam('packed'), answer_dictionary_id=sa.bindparam('dictionary'),
                    answer_chars=sa.bindparam('chars')),
            [dict(row_id=row.id, **_packed(connection, row.engine_kind, row.answer_text)) for row in rows])


def _packed(connection: sa.Connection, kind: str, text: str) -> dict:
    columns = payload_store.pack_answer(connection, kind, text)
    return dict(packed=columns['answer'], dictionary=columns['answer_dictionary_id'], chars=columns['answer_chars'])


def downgrade() -> None:
    with op.batch_alter_table('observation') as batch:
        batch.add_column(sa.Column('answer_text', sa.String(), nullable=True))
    connection = op.get_bind()
    observation = sa.table('observation', sa.column('id'), sa.column('answer_text'))
    for rows in _chunks(connection, 'SELECT id, answer, answer_dictionary_id FROM observation '
                                    'WHERE id > :after AND answer IS NOT NULL'):
        connection.execute(observation.update().where(observation.c.id == sa.bindparam('row_id'))
                           .values(answer_text=sa.bindparam('text')),
                           [dict(row_id=row.id, text=payload_store.unpack_answer(connection, row.answer,
                                                                                 row.answer_dictionary_id))
                            for row in rows])
    with op.batch_alter_table('observation') as batch:
        batch.drop_constraint('fk_observation_answer_dictionary_id_payload_dictionary', type_='foreignkey')
        for column in ('answer', 'answer_dictionary_id', 'answer_chars'):
            batch.drop_column(column)

    with op.batch_alter_table('citation') as batch:
        batch.add_column(sa.Column('normalized_url', sa.String(), nullable=True))
        batch.add_column(sa.Column('domain', sa.String(), nullable=True))
        batch.add_column(sa.Column('title', sa.String(), nullable=True))
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('content_type', sa.String(), nullable=False, server_default='other'))
        batch.add_column(sa.Column('domain_class', sa.String(), nullable=False, server_default='other'))
    with op.batch_alter_table('organic_result') as batch:
        batch.add_column(sa.Column('url', sa.String(), nullable=True))
        batch.add_column(sa.Column('domain', sa.String(), nullable=True))
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('title', sa.String(), nullable=True))
        batch.add_column(sa.Column('content_type', sa.String(), nullable=False, server_default='other'))
    page = 'SELECT {column} FROM source WHERE source.id = {table}.source_id'
    op.execute(f"UPDATE citation SET url = COALESCE(url, ({page.format(column='url', table='citation')})), "
               + ', '.join(f"{column} = ({page.format(column=column, table='citation')})"
                           for column in CITATION_PAGE if column != 'domain_class')
               + f", domain_class = COALESCE(({page.format(column='domain_class', table='citation')}), 'other')")
    op.execute('UPDATE organic_result SET '
               + ', '.join(f"{column} = ({page.format(column=column, table='organic_result')})"
                           for column in ORGANIC_PAGE))
    with op.batch_alter_table('citation') as batch:
        batch.drop_constraint('fk_citation_source_id_source', type_='foreignkey')
        batch.drop_column('source_id')
        batch.alter_column('url', existing_type=sa.String(), nullable=False)
        batch.alter_column('normalized_url', existing_type=sa.String(), nullable=False)
        batch.create_foreign_key('fk_citation_owner_id_tracked_entity', 'tracked_entity', ['owner_id'], ['id'])
        batch.create_index('ix_citation_owner_id', ['owner_id'])
    with op.batch_alter_table('organic_result') as batch:
        batch.drop_constraint('fk_organic_result_source_id_source', type_='foreignkey')
        batch.drop_column('source_id')
        batch.alter_column('url', existing_type=sa.String(), nullable=False)
        batch.create_foreign_key('fk_organic_result_owner_id_tracked_entity', 'tracked_entity', ['owner_id'], ['id'])
    op.drop_table('source')
