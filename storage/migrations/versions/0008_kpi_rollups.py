"""daily and monthly KPI rollups; keyword.branded, observation.search_pool, citation.domain_class; content types renamed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The rollup tables start empty: `storage.db.upgrade` fills them from the stored observations once this
migration has run (`storage.rollups.rebuild`), so the counting code lives in one place. Observations of the
engine kinds that report their search pool get `search_pool`; citations owned by the brand or a competitor
get the domain class `own` or `competitor`; the content types `blog` and `docs` become `blog_post` and
`documentation`. A downgrade drops the rollups and the columns and renames the types back.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# the kinds whose parsers kept retrieved-but-not-cited sources when this migration was written
POOL_KINDS = ('openai', 'perplexity_agent', 'perplexity', 'gemini', 'anthropic')
RENAMED = {'blog': 'blog_post', 'docs': 'documentation'}
KEY = ('day', 'engine_id', 'keyword_id')


def _key_columns() -> list[sa.Column]:
    return [sa.Column('day', sa.Date(), nullable=False), sa.Column('engine_id', sa.String(), nullable=False),
            sa.Column('keyword_id', sa.Integer(), sa.ForeignKey('keyword.id'), nullable=False)]


def _counts(*names: str, kind: type = sa.Integer) -> list[sa.Column]:
    return [sa.Column(name, kind(), nullable=False, server_default='0') for name in names]


def upgrade() -> None:
    with op.batch_alter_table('keyword') as batch:
        batch.add_column(sa.Column('branded', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('observation') as batch:
        batch.add_column(sa.Column('search_pool', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('citation') as batch:
        batch.add_column(sa.Column('domain_class', sa.String(), nullable=False, server_default='other'))
    observation = sa.table('observation', sa.column('engine_kind', sa.String()),
                           sa.column('status', sa.String()), sa.column('search_pool', sa.Boolean()))
    op.execute(observation.update().where(observation.c.engine_kind.in_(POOL_KINDS))
               .values(search_pool=sa.true()))
    for kind, domain_class in (('brand', 'own'), ('competitor', 'competitor')):
        op.execute(sa.text(
            "UPDATE citation SET domain_class = :class WHERE owner_id IN "
            "(SELECT id FROM tracked_entity WHERE kind = :kind)").bindparams(**{'class': domain_class, 'kind': kind}))
    _rename_content_types(RENAMED)

    for grain in ('day', 'month'):
        _create_rollups(f'kpi_{grain}')


def _create_rollups(prefix: str) -> None:
    """The five rollup tables of one grain (kpi_day*: a day per row; kpi_month*: a month); WITHOUT ROWID on
    SQLite, so that rows sit in key order."""
    clustered = {'sqlite_with_rowid': False}
    op.create_table(
        prefix, *_key_columns(),
        *_counts('scheduled', 'observed', 'successful', 'failed', 'skipped', 'answered', 'included',
                 'included_answered', 'with_citations', 'citations', 'position_sum', 'top3', 'visible', 'gaps',
                 'pool', 'brand_found', 'brand_found_cited', 'organic_pages', 'organic_ranked',
                 'organic_rank_sum', 'organic_top3', 'organic_top10', 'organic_top10_not_cited'),
        *_counts('visibility_total', 'cost', kind=sa.Float),
        sa.PrimaryKeyConstraint(*KEY), **clustered)
    op.create_table(
        f'{prefix}_rank', *_key_columns(), sa.Column('source', sa.String(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False), *_counts('answers'),
        sa.PrimaryKeyConstraint(*KEY, 'source', 'rank'), **clustered)
    op.create_table(
        f'{prefix}_entity', *_key_columns(),
        sa.Column('entity_id', sa.Integer(), sa.ForeignKey('tracked_entity.id'), nullable=False),
        *_counts('answers_naming', 'mention_count', 'mention_rank_sum', 'first_third', 'middle_third',
                 'last_third', 'cited_answers', 'citations'),
        *_counts('citations_weighted', 'visibility', kind=sa.Float), *_counts('cited_without_brand'),
        sa.PrimaryKeyConstraint(*KEY, 'entity_id'), **clustered)
    op.create_table(
        f'{prefix}_content', *_key_columns(), sa.Column('content_type', sa.String(), nullable=False),
        sa.Column('domain_class', sa.String(), nullable=False), *_counts('citations', 'brand_answers'),
        sa.PrimaryKeyConstraint(*KEY, 'content_type', 'domain_class'), **clustered)
    op.create_table(
        f'{prefix}_domain', *_key_columns(), sa.Column('domain', sa.String(), nullable=False),
        *_counts('answers', 'answers_without_brand'),
        sa.PrimaryKeyConstraint(*KEY, 'domain'), **clustered)


def downgrade() -> None:
    for grain in ('month', 'day'):
        for table in ('_domain', '_content', '_entity', '_rank', ''):
            op.drop_table(f'kpi_{grain}{table}')
    _rename_content_types({new: old for old, new in RENAMED.items()})
    with op.batch_alter_table('citation') as batch:
        batch.drop_column('domain_class')
    with op.batch_alter_table('observation') as batch:
        batch.drop_column('search_pool')
    with op.batch_alter_table('keyword') as batch:
        batch.drop_column('branded')


def _rename_content_types(names: dict[str, str]) -> None:
    for table in ('citation', 'organic_result'):
        rows = sa.table(table, sa.column('content_type', sa.String()))
        for old, new in names.items():
            op.execute(rows.update().where(rows.c.content_type == old).values(content_type=new))
