"""How long `citewatch metrics` takes on a big history, and what the history weighs (issue 10).

Times `monitor.metrics.period_metrics(db, project, since, until)` (a period and the one before it, from the
daily rollups: `storage.kpi_reads`) on a database filled by `bench/history.py`:

- week:  the last 7 days (target < 1 s);
- trend: the 12 last weekly periods, one call each, the total reported (target < 2 s);
- year:  the last 365 days (target < 10 s).

Each is repeated --repeat times (median and min reported; the first call of a process also pays for
opening the engine, so one untimed warm-up call runs first). Every SQL statement of one run of each is
timed (SQLAlchemy cursor events), and for those that take a large share, the plan is printed
(SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)) with --explain.

Then the sizes: the database (SQLite file + -wal; PostgreSQL pg_database_size), rows per table, bytes
per table where the database can say (PostgreSQL: pg_total_relation_size; SQLite: the dbstat table with
--dbstat, which reads the whole file), raw_payload bytes (sum of length(data)) and raw bytes before
compression, bytes per observation overall and for raw payloads, and per engine kind the average stored
and raw payload size.

    python bench/metrics_scale.py --url sqlite:////work/benchdata/year.db [--repeat 5] [--explain] [--dbstat]
    python bench/metrics_scale.py --url postgresql://postgres@127.0.0.1:5432/citewatch_bench --explain
    python bench/metrics_scale.py --url ... --json results.json    # every figure, machine-readable
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text

from monitor.metrics import period_metrics
from storage.db import open_database

TARGETS = {"week": 1.0, "trend_12_weeks": 2.0, "year": 10.0}
TABLES = ("project", "tracked_entity", "keyword", "run", "payload_dictionary", "raw_payload", "observation",
          "observation_part", "observation_feature", "source", "interned_name", "citation", "mention",
          "organic_result", "kpi_day", "kpi_day_rank", "kpi_day_entity", "kpi_day_content", "kpi_day_domain",
          "kpi_month", "kpi_month_rank", "kpi_month_entity", "kpi_month_content", "kpi_month_domain")


class StatementTimer:
    """Wall time per SQL statement (by its text), while `recording`."""

    def __init__(self, engine: Any) -> None:
        self.recording = False
        self.times: dict[str, list[float]] = defaultdict(list)
        self.parameters: dict[str, Any] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.recording:
            took = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            if not self.times[statement] or took > max(self.times[statement]):
                self.parameters[statement] = parameters  # explain the slowest execution
            self.times[statement].append(took)


def last_day(db: Any, project: str) -> date:
    with db.connect() as connection:
        value = connection.execute(text(
            "SELECT max(day) FROM kpi_day WHERE keyword_id IN (SELECT k.id FROM keyword k JOIN project p "
            "ON p.id = k.project_id WHERE p.name = :project)"), {"project": project}).scalar()
    if value is None:
        raise SystemExit(f"no rollups for project {project!r}")
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def periods(end: date) -> dict[str, list[tuple[date, date]]]:
    return {
        "week": [(end - timedelta(days=6), end)],
        "trend_12_weeks": [(end - timedelta(days=7 * (i + 1) - 1), end - timedelta(days=7 * i)) for i in range(12)],
        "year": [(end - timedelta(days=364), end)],
    }


def time_metrics(db: Any, project: str, end: date, repeat: int, timer: StatementTimer) -> dict[str, Any]:
    period_metrics(db, project, end - timedelta(days=6), end)  # warm-up: engine, pool, caches
    results: dict[str, Any] = {}
    for name, spans in periods(end).items():
        runs = []
        for attempt in range(repeat):
            timer.recording = attempt == 0
            started = time.perf_counter()
            for since, until in spans:
                metrics = period_metrics(db, project, since, until)
            runs.append(time.perf_counter() - started)
            timer.recording = False
            if attempt == 0:
                results.setdefault("_statements", {})[name] = {
                    statement: (sum(times), len(times)) for statement, times in timer.times.items()}
                results.setdefault("_parameters", {})[name] = dict(timer.parameters)
                timer.times.clear()
                timer.parameters.clear()
        overall = metrics["overall"]
        results[name] = {"median_s": statistics.median(runs), "min_s": min(runs), "runs": runs,
                         "target_s": TARGETS[name], "calls": len(spans),
                         "meets_target": statistics.median(runs) < TARGETS[name],
                         "sample": {k: overall.get(k) for k in ("successful", "scheduled", "observations")
                                    if k in overall},
                         "periods": [(s.isoformat(), u.isoformat()) for s, u in spans]}
        print(f"{name:15s} {len(spans):2d} call(s): median {statistics.median(runs):7.3f} s, min {min(runs):7.3f} s "
              f"(target {TARGETS[name]} s: {'ok' if results[name]['meets_target'] else 'MISSED'})", flush=True)
    from monitor import metrics
    if hasattr(metrics, "weekly_trend"):  # the report's chart: 12 ISO weeks, each read once, no period before
        last_monday = end - timedelta(days=end.weekday())
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            metrics.weekly_trend(db, project, last_monday, 12)
            runs.append(time.perf_counter() - started)
        results["weekly_trend_12"] = {"median_s": statistics.median(runs), "min_s": min(runs), "runs": runs,
                                      "target_s": TARGETS["trend_12_weeks"],
                                      "meets_target": statistics.median(runs) < TARGETS["trend_12_weeks"]}
        print(f"{'weekly_trend':15s} 12 weeks  : median {statistics.median(runs):7.3f} s, min {min(runs):7.3f} s "
              f"(monitor.metrics.weekly_trend, last Monday {last_monday})", flush=True)
    return results


def explain(db: Any, statement: str, parameters: Any) -> str:
    with db.connect() as connection:
        if db.dialect.name == "sqlite":
            cursor = connection.connection.driver_connection.cursor()
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            return "\n".join(f"  {row[0]:>4} {row[1]:>4}  {row[3]}"[:240] for row in rows)
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(("  " + row[0])[:240] for row in cursor.fetchall())


def sizes(db: Any, url: str, dbstat: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with db.connect() as connection:
        sqlite = db.dialect.name == "sqlite"
        if sqlite:
            path = Path(url[len("sqlite:///"):])
            wal = Path(f"{path}-wal")
            out["database_bytes"] = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            out["database_file_bytes"], out["wal_bytes"] = path.stat().st_size, wal.stat().st_size if wal.exists() else 0
        else:
            out["database_bytes"] = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
        rows = {}
        for table in TABLES:
            started = time.perf_counter()
            rows[table] = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            print(f"  rows {table:20s} {rows[table]:>12,d}  ({time.perf_counter() - started:.1f} s)", flush=True)
        out["rows"] = rows
        if sqlite and dbstat:
            started = time.perf_counter()
            out["bytes_by_object"] = dict(connection.execute(text(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")).all())
            print(f"  dbstat in {time.perf_counter() - started:.0f} s", flush=True)
        elif not sqlite:
            out["bytes_by_table"] = dict(connection.execute(text(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC")).all())
            out["bytes_by_index"] = dict(connection.execute(text(
                "SELECT relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'i' ORDER BY 2 DESC")).all())
        started = time.perf_counter()
        stored, raw = connection.execute(text(
            "SELECT coalesce(sum(length(data)), 0), coalesce(sum(size), 0) FROM raw_payload")).one()
        out["raw_payload_stored_bytes"], out["raw_payload_raw_bytes"] = int(stored), int(raw)
        print(f"  raw_payload sums in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        per_kind = connection.execute(text(
            "SELECT o.engine_kind, count(*), avg(length(r.data)), avg(r.size), sum(length(r.data)) "
            "FROM observation_part p JOIN observation o ON o.id = p.observation_id "
            "JOIN raw_payload r ON r.hash = p.raw_hash GROUP BY o.engine_kind ORDER BY o.engine_kind")).all()
        out["per_kind"] = {kind: {"parts": parts, "avg_stored_bytes": float(stored_avg),
                                  "avg_raw_bytes": float(raw_avg), "stored_bytes": int(total),
                                  "ratio": float(stored_avg) / float(raw_avg)}
                           for kind, parts, stored_avg, raw_avg, total in per_kind}
        print(f"  per-kind payload sizes in {time.perf_counter() - started:.0f} s", flush=True)
    observations = max(1, out["rows"]["observation"])
    out["bytes_per_observation"] = out["database_bytes"] / observations
    out["raw_payload_bytes_per_observation"] = out["raw_payload_stored_bytes"] / observations
    out["citations_per_observation"] = out["rows"]["citation"] / observations
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="sqlite:////work/benchdata/year.db")
    parser.add_argument("--project", default="bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--end", type=date.fromisoformat, help="last day of the periods (default: the last stored)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the slowest statements")
    parser.add_argument("--dbstat", action="store_true", help="SQLite: bytes per table and index (reads the file)")
    parser.add_argument("--no-sizes", action="store_true")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)

    db = open_database(args.url, read_only=True)
    timer = StatementTimer(db)
    end = args.end or last_day(db, args.project)
    print(f"{args.url} project {args.project}, periods ending {end}", flush=True)
    results: dict[str, Any] = {"url": args.url, "end": end.isoformat()}
    results["timings"] = time_metrics(db, args.project, end, args.repeat, timer)
    statements = results["timings"].pop("_statements")
    parameters = results["timings"].pop("_parameters")
    for name, per_statement in statements.items():
        total = sum(seconds for seconds, _ in per_statement.values())
        calls = sum(count for _, count in per_statement.values())
        print(f"\n{name}: {calls} statements ({len(per_statement)} distinct texts), {total:.3f} s in SQL, first run")
        shapes: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        for statement, (seconds, count) in per_statement.items():
            shape = re.sub(r"IN \(((\?|%\(\w+\)s(::\w+)?), )*(\?|%\(\w+\)s(::\w+)?)\)", "IN (...)",
                           " ".join(statement.split()))
            shapes[shape][0] += seconds
            shapes[shape][1] += count
        for shape, (seconds, count) in sorted(shapes.items(), key=lambda item: -item[1][0])[:7]:
            print(f"  {seconds:7.3f} s {count:4d}x  {shape[:170]}")
        ranked = sorted(((s, t) for s, (t, _) in per_statement.items()), key=lambda item: -item[1])
        if args.explain and name in ("year", "week"):
            for statement, seconds in ranked[:2]:
                if seconds < 0.05:
                    continue
                print(f"\n  plan ({seconds:.3f} s): {' '.join(statement.split())[:240]}")
                print(explain(db, statement, parameters[name][statement]))
    results["statements"] = {name: {" ".join(s.split())[:400]: list(t) for s, t in per.items()}
                             for name, per in statements.items()}
    if not args.no_sizes:
        print("\nsizes:", flush=True)
        found = sizes(db, args.url, args.dbstat)
        results["sizes"] = found
        gb = 1e9
        print(f"database {found['database_bytes'] / gb:.2f} GB; {found['rows']['observation']:,} observations, "
              f"{found['rows']['citation']:,} citations ({found['citations_per_observation']:.2f}/obs)")
        print(f"raw payloads stored {found['raw_payload_stored_bytes'] / gb:.2f} GB "
              f"(raw {found['raw_payload_raw_bytes'] / gb:.2f} GB, "
              f"{found['raw_payload_stored_bytes'] / max(1, found['raw_payload_raw_bytes']):.3f})")
        print(f"bytes per observation: {found['bytes_per_observation']:.0f} overall, "
              f"{found['raw_payload_bytes_per_observation']:.0f} raw payloads")
        for kind, row in found["per_kind"].items():
            print(f"  {kind:18s} {row['parts']:>9,d} parts, avg stored {row['avg_stored_bytes']:7.0f} B, "
                  f"avg raw {row['avg_raw_bytes']:7.0f} B ({row['ratio']:.3f})")
        for key in ("bytes_by_object", "bytes_by_table", "bytes_by_index"):
            if key in found:
                print(f"{key}:")
                for name, size in list(found[key].items())[:25]:
                    print(f"  {name:40s} {size / 1e6:10.1f} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
