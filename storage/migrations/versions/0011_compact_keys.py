"""compact keys: citations, mentions and organic results keyed by observation and place; names interned

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

A year of history is tens of millions of citation rows and of rollup rows, where an id column, a second
index, and text keys repeated in every row and again in its primary-key index were a fifth of the database
on PostgreSQL (bench/history.py). This migration:

- keys `citation` by (observation_id, position), `organic_result` by (observation_id, rank) and `mention`
  by (observation_id, entity_id): their `id` and their index on observation_id go (WITHOUT ROWID on
  SQLite);
- drops the engine's own URL from citations (`citation.url`, kept only for Gemini's per-answer redirects,
  which expire): the raw payload keeps it, and the citation references the page (`source`) as before;
- stores citations' `origin` and the rollups' text keys (engine, rank source, page type, domain class,
  domain) as ids of a new `interned_name` table (storage.names);
- drops `ix_observation_run_id`, which the unique (run_id, keyword_id, engine_id, sample_index) covers.

Each table is rebuilt by copy: a new table, one INSERT ... SELECT, the old one dropped, the new one
renamed. A page cited twice at one position of one answer cannot be keyed this way; the migration stops
with the count instead of dropping a row. A downgrade restores the earlier shape, without the redirect
URLs.
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

from citewatch.errors import StorageError

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

KEY = ('day', 'engine_id', 'keyword_id')
# the rollup tables of one grain: suffix, the key columns after KEY (name, interned), counters, float counters
ROLLUPS = (
    ('', (), ('scheduled', 'observed', 'successful', 'failed', 'skipped', 'answered', 'included',
              'included_answered', 'with_citations', 'citations', 'position_sum', 'top3', 'visible', 'gaps',
              'pool', 'brand_found', 'brand_found_cited', 'organic_pages', 'organic_ranked', 'organic_rank_sum',
              'organic_top3', 'organic_top10', 'organic_top10_not_cited'), ('visibility_total', 'cost')),
    ('_rank', (('source', True), ('rank', False)), ('answers',), ()),
    ('_entity', (('entity_id', False),),
     ('answers_naming', 'mention_count', 'mention_rank_sum', 'first_third', 'middle_third', 'last_third',
      'cited_answers', 'citations', 'cited_without_brand'), ('citations_weighted', 'visibility')),
    ('_content', (('content_type', True), ('domain_class', True)), ('citations', 'brand_answers'), ()),
    ('_domain', (('domain', True),), ('answers', 'answers_without_brand'), ()),
)
ROLLUP_TABLES = [(f'kpi_{grain}{suffix}', keys, counts, floats)
                 for grain in ('day', 'month') for suffix, keys, counts, floats in ROLLUPS]
PARSED_TABLES = ('citation', 'mention', 'organic_result')


def upgrade() -> None:
    # first, before any change: SQLite runs a migration's DDL outside its transaction
    _refuse_duplicates('citation', 'position')
    _refuse_duplicates('organic_result', 'rank')
    _refuse_duplicates('mention', 'entity_id')
    op.create_table('interned_name', sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(), nullable=False),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('name'))
    named = ['SELECT DISTINCT origin AS name FROM citation']
    for table, keys, _, _ in ROLLUP_TABLES:
        named += [f'SELECT DISTINCT {column} FROM {table}' for column in ('engine_id', *(k for k, n in keys if n))]
    op.execute(f"INSERT INTO interned_name (name) SELECT name FROM ({' UNION '.join(named)}) AS names")

    _replace('citation', _citation_columns(origin=sa.Integer(), key=True), ('observation_id', 'position'),
             'SELECT t.observation_id, t.position, t.source_id, t.visible, t.cited, n.id, t.spans, t.visibility '
             'FROM citation t JOIN interned_name n ON n.name = t.origin')
    _replace('mention', _mention_columns(key=True), ('observation_id', 'entity_id'),
             'SELECT observation_id, entity_id, alias, count, first_offset, rank FROM mention')
    op.create_index('ix_mention_entity_id', 'mention', ['entity_id'])
    _replace('organic_result', _organic_columns(key=True), ('observation_id', 'rank'),
             'SELECT observation_id, rank, source_id, snippet FROM organic_result')
    for table, keys, counts, floats in ROLLUP_TABLES:
        _replace_rollup(table, keys, counts, floats, interned=True)
    op.drop_index('ix_observation_run_id', table_name='observation')


def downgrade() -> None:
    op.create_index('ix_observation_run_id', 'observation', ['run_id'])
    for table, keys, counts, floats in ROLLUP_TABLES:
        _replace_rollup(table, keys, counts, floats, interned=False)
    _replace('organic_result', _organic_columns(key=False), ('id',),
             'SELECT observation_id, rank, source_id, snippet FROM organic_result ORDER BY observation_id, rank',
             rowid=True)
    op.create_index('ix_organic_result_observation_id', 'organic_result', ['observation_id'])
    _replace('mention', _mention_columns(key=False), ('id',),
             'SELECT observation_id, entity_id, alias, count, first_offset, rank FROM mention '
             'ORDER BY observation_id, entity_id', rowid=True)
    op.create_index('ix_mention_observation_id', 'mention', ['observation_id'])
    op.create_index('ix_mention_entity_id', 'mention', ['entity_id'])
    _replace('citation', _citation_columns(origin=sa.String(), key=False), ('id',),
             'SELECT t.observation_id, t.position, t.source_id, NULL, t.visible, t.cited, n.name, t.spans, '
             't.visibility FROM citation t JOIN interned_name n ON n.id = t.origin '
             'ORDER BY t.observation_id, t.position', rowid=True)
    op.create_index('ix_citation_observation_id', 'citation', ['observation_id'])
    op.drop_table('interned_name')


def _id(key: bool) -> list[sa.Column]:
    return [] if key else [sa.Column('id', sa.Integer(), nullable=False)]


def _citation_columns(origin: sa.types.TypeEngine, key: bool) -> list[Any]:
    return [*_id(key),
            sa.Column('observation_id', sa.Integer(), nullable=False),
            sa.Column('position', sa.Integer(), nullable=False),
            sa.Column('source_id', sa.Integer(), nullable=False),
            *([] if key else [sa.Column('url', sa.String(), nullable=True)]),
            sa.Column('visible', sa.Boolean(), nullable=False),
            sa.Column('cited', sa.Boolean(), nullable=False),
            sa.Column('origin', origin, nullable=False),
            sa.Column('spans', sa.JSON(), nullable=False),
            sa.Column('visibility', sa.Float(), nullable=True),
            sa.ForeignKeyConstraint(['observation_id'], ['observation.id'], name='fk_citation_observation_id'),
            sa.ForeignKeyConstraint(['source_id'], ['source.id'], name='fk_citation_source_id_source'),
            *([sa.ForeignKeyConstraint(['origin'], ['interned_name.id'], name='fk_citation_origin')] if key else [])]


def _mention_columns(key: bool) -> list[Any]:
    return [*_id(key),
            sa.Column('observation_id', sa.Integer(), nullable=False),
            sa.Column('entity_id', sa.Integer(), nullable=False),
            sa.Column('alias', sa.String(), nullable=False),
            sa.Column('count', sa.Integer(), nullable=False),
            sa.Column('first_offset', sa.Integer(), nullable=False),
            sa.Column('rank', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['observation_id'], ['observation.id'], name='fk_mention_observation_id'),
            sa.ForeignKeyConstraint(['entity_id'], ['tracked_entity.id'], name='fk_mention_entity_id')]


def _organic_columns(key: bool) -> list[Any]:
    return [*_id(key),
            sa.Column('observation_id', sa.Integer(), nullable=False),
            sa.Column('rank', sa.Integer(), nullable=False),
            sa.Column('source_id', sa.Integer(), nullable=False),
            sa.Column('snippet', sa.String(), nullable=True),
            sa.ForeignKeyConstraint(['observation_id'], ['observation.id'], name='fk_organic_result_observation_id'),
            sa.ForeignKeyConstraint(['source_id'], ['source.id'], name='fk_organic_result_source_id_source')]


def _refuse_duplicates(table: str, place: str) -> None:
    duplicated = op.get_bind().execute(sa.text(
        f'SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY observation_id, {place} HAVING count(*) > 1) AS d'
    )).scalar()
    if duplicated:
        raise StorageError(f'cannot migrate to 0011: {table}: {duplicated} (observation_id, {place}) pairs are '
                           'stored twice; they cannot become its key. Nothing was changed.')


def _replace_rollup(table: str, keys: tuple[tuple[str, bool], ...], counts: tuple[str, ...],
                    floats: tuple[str, ...], interned: bool) -> None:
    """Rebuild one rollup table with its names as interned ids (or back as text)."""
    named = ['engine_id', *(name for name, is_named in keys if is_named)]
    name_type = sa.Integer if interned else sa.String
    columns = [sa.Column('day', sa.Date(), nullable=False), sa.Column('engine_id', name_type(), nullable=False),
               sa.Column('keyword_id', sa.Integer(), nullable=False),
               *(sa.Column(name, name_type() if is_named else sa.Integer(), nullable=False) for name, is_named in keys),
               *(sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in counts),
               *(sa.Column(name, sa.Float(), nullable=False, server_default='0') for name in floats),
               sa.ForeignKeyConstraint(['keyword_id'], ['keyword.id'], name=f'fk_{table}_keyword_id'),
               *([sa.ForeignKeyConstraint(['entity_id'], ['tracked_entity.id'], name=f'fk_{table}_entity_id')]
                 if any(name == 'entity_id' for name, _ in keys) else [])]
    # join each name column to interned_name: by name on the way in, by id on the way out
    match, value = ('name', 'id') if interned else ('id', 'name')
    selected = [f'n_{c}.{value}' if c in named else f't.{c}'
                for c in (*KEY, *(name for name, _ in keys), *counts, *floats)]
    joins = ' '.join(f'JOIN interned_name n_{c} ON n_{c}.{match} = t.{c}' for c in named)
    _replace(table, columns, (*KEY, *(name for name, _ in keys)),
             f"SELECT {', '.join(selected)} FROM {table} t {joins}")


def _replace(table: str, columns: list[Any], key: tuple[str, ...], select: str,
             rowid: bool = False) -> None:
    """Rebuild `table` as `columns` keyed by `key`, filled by `select` (its columns in the new order, the id
    left out where the key is a new serial `id`)."""
    new = f'{table}_new'
    op.create_table(new, *columns, sa.PrimaryKeyConstraint(*key, name=f'{new}_pkey'),
                    **({} if rowid else {'sqlite_with_rowid': False}))
    names = [c.name for c in columns if isinstance(c, sa.Column) and not (rowid and c.name == 'id')]
    op.execute(f"INSERT INTO {new} ({', '.join(names)}) {select}")
    op.drop_table(table)
    op.rename_table(new, table)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER INDEX {new}_pkey RENAME TO {table}_pkey')
        if rowid:
            op.execute(f'ALTER SEQUENCE {new}_id_seq RENAME TO {table}_id_seq')
