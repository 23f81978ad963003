"""How fast `citewatch metrics` reads a year of KPI rollups, on SQLite and PostgreSQL.

Fills only the rollup tables (daily and monthly) of a fresh database with a year of plausible rows for 500
keywords x 6 engines (4 tracked entities, 8 page type and domain class pairs and 12 cited domains per day,
engine and keyword; 10 tags, 10 branded keywords), then times `monitor.metrics.period_metrics` for the last
week and the last year and `weekly_trend` for the last 12 weeks (median of --repeat runs). The rollups'
size does not depend on samples or citations: a day, engine and keyword has one row per entity, page type,
domain and position however many answers it counted, so this measures the read path at full scale without
generating payloads (bench/history.py fills a whole database, payloads included).

    python bench/kpi_reads.py --sqlite /work/benchdata/kpi.db [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/citewatch_kpi]

Targets (issue 10, 2-core machine): week under 1 s, 12-week trend under 2 s, year under 10 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, Integer, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from monitor.metrics import period_metrics, weekly_trend  # noqa: E402
from storage import repository  # noqa: E402
from storage.db import make_engine, open_database  # noqa: E402
from storage.names import name_ids  # noqa: E402
from storage.records import EntityRow, KeywordRow  # noqa: E402
from storage.rollups import DAILY, MONTHLY, Accumulator, counter_columns, key_columns, named_places, table_of  # noqa: E402
from storage.tally import CITATION, Tally  # noqa: E402

ENGINES = ["chatgpt", "perplexity", "gemini", "claude", "google", "google_ai_mode"]
ENTITIES = [EntityRow("Brand", "brand", (), ("brand.com",))] + [
    EntityRow(f"Rival {i}", "competitor", (), (f"rival{i}.com",)) for i in range(1, 4)]
PAIRS = [(kind, cls) for kind in ("blog_post", "product", "news", "forum") for cls in ("own", "editorial")]
PROJECT = "year"


def fill(db: Engine, days: int, keywords: int, last: date, seed: int = 1) -> None:
    ids = repository.sync_project(
        db, PROJECT, ENTITIES,
        [KeywordRow(f"keyword {i}", tags=(f"tag {i % 10}",), weight=1 + i % 3, branded=i % 50 == 0)
         for i in range(keywords)], datetime(2025, 1, 1, tzinfo=UTC))
    names = {entity.name: ids.entity_ids[entity.name] for entity in ENTITIES}
    rnd = random.Random(seed)
    pools = {k: sorted({f"site{rnd.randrange(400)}.com" for _ in range(40)})[:25] for k in ids.keyword_ids.values()}
    started = time.perf_counter()
    month = Accumulator()  # PostgreSQL: a month's rows, copied once the month is complete
    for offset in range(days):
        day = last - timedelta(days=days - 1 - offset)
        if db.dialect.name == "postgresql" and offset and day.day == 1:
            _copy(db, month.rows, MONTHLY)
            month = Accumulator()
        accumulator = Accumulator()
        for engine_id in ENGINES:
            for keyword_id in ids.keyword_ids.values():
                accumulator.add(day, engine_id, keyword_id, _tally(rnd, pools[keyword_id]), names)
                accumulator.add_scheduled(day, engine_id, keyword_id, 3)
        if db.dialect.name == "postgresql":
            # fresh tables, nothing to add to: COPY is ten times faster than upserts
            _copy(db, accumulator.rows, DAILY)
            for model in MONTHLY:
                for key, cells in accumulator.rows[model].items():
                    for name, value in cells.items():
                        month.rows[model][key][name] += value
        else:
            with db.begin() as connection:
                accumulator.write(connection)
        if offset % 30 == 0:
            print(f"  day {offset + 1}/{days}: {time.perf_counter() - started:.0f} s", flush=True)
    if db.dialect.name == "postgresql":
        _copy(db, month.rows, MONTHLY)


def _copy(db: Engine, rows_of: dict, models: tuple) -> None:  # type: ignore[type-arg]
    with db.begin() as interning:  # the keys' names as the interned ids the tables hold
        ids = name_ids(interning, {key[i] for model in models for i in named_places(model) for key in rows_of[model]})
    connection = db.raw_connection()
    try:
        with connection.cursor() as cursor:
            for model in models:
                rows = rows_of[model]
                keys, counters = key_columns(model), counter_columns(model)
                # counts are summed as floats in memory; integer columns take them as integers
                whole = [isinstance(table_of(model).c[c].type, Integer) for c in counters]
                with cursor.copy(f"COPY {table_of(model).name} ({', '.join(keys + counters)}) FROM STDIN") as copy:
                    named = named_places(model)
                    for key, cells in rows.items():
                        copy.write_row((*(ids[part] if i in named else part for i, part in enumerate(key)),
                                        *(int(cells.get(c, 0)) if integer else cells.get(c, 0)
                                          for c, integer in zip(counters, whole))))
        connection.commit()
    finally:
        connection.close()


def _tally(rnd: random.Random, domains: list[str]) -> Tally:
    """What three answers of one engine to one keyword add on a day: plausible, not real."""
    counted = Tally()
    included = rnd.randint(0, 3)
    counted.day.update(observed=3, successful=3, answered=3, included=included, included_answered=included,
                       with_citations=3, citations=25, position_sum=2 * included, top3=included, visible=included,
                       gaps=3 - included, pool=3, brand_found=min(3, included + 1), brand_found_cited=included,
                       organic_pages=1, organic_ranked=1, organic_rank_sum=4, organic_top10=1,
                       visibility_total=40.0, cost=0.03)
    for position in {rnd.randint(1, 6) for _ in range(included)}:
        counted.ranks[(CITATION, position)] = 1
    for entity in [e.name for e in ENTITIES]:
        counted.entities[entity].update(answers_naming=2, mention_count=3, mention_rank_sum=4, first_third=1,
                                        middle_third=1, cited_answers=2, citations=3, citations_weighted=0.7,
                                        visibility=5.0, cited_without_brand=1)
    for pair in PAIRS:
        counted.content[pair].update(citations=3, brand_answers=1)
    for domain in rnd.sample(domains, 12):
        counted.domains[domain].update(answers=rnd.randint(1, 3), answers_without_brand=rnd.randint(0, 2))
    return counted


def timed(label: str, run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"  {label:10} median {median:6.2f} s   min {min(times):6.2f} s", flush=True)
    return median


def measure(db: Engine, last: date, repeat: int) -> None:
    with db.connect() as connection:
        for table in ("kpi_day", "kpi_day_entity", "kpi_day_content", "kpi_day_domain", "kpi_month_domain"):
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            print(f"  {table:18} {count:>12,} rows")
    timed("week", lambda: period_metrics(db, PROJECT, last - timedelta(days=6), last), repeat)
    timed("12 weeks", lambda: weekly_trend(db, PROJECT, last - timedelta(days=6), 12), repeat)
    timed("year", lambda: period_metrics(db, PROJECT, last - timedelta(days=364), last), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, help="a SQLite file to make (must not exist)")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database is made afresh (dropped first)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keywords", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--measure-only", action="store_true", help="time the databases an earlier run filled")
    # mid-month, so that the year has days around its whole months, read from the daily tables
    parser.add_argument("--last", type=date.fromisoformat, default=date(2026, 12, 5), help="the last day")
    args = parser.parse_args()
    last = args.last
    targets = []
    if args.sqlite:
        if args.sqlite.exists() != args.measure_only:
            parser.error(f"{args.sqlite} exists" if args.sqlite.exists() else f"{args.sqlite} does not exist")
        targets.append(("SQLite", f"sqlite:///{args.sqlite}"))
    if args.postgres and not args.measure_only:
        url = make_url(args.postgres)
        admin = make_engine(url.set(database="postgres").render_as_string(False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    if args.postgres:
        targets.append(("PostgreSQL", args.postgres))
    for name, url in targets:
        db = open_database(url)
        if not args.measure_only:
            print(f"{name}: filling {args.days} days x {args.keywords} keywords x {len(ENGINES)} engines", flush=True)
            fill(db, args.days, args.keywords, last)
        print(f"{name}:", flush=True)
        if name == "PostgreSQL" and not args.measure_only:
            with db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        measure(db, last, args.repeat)
        db.dispose()


if __name__ == "__main__":
    main()
