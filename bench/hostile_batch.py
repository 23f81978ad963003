"""A batch against a hostile engine: wall time, peak memory and what reached the database.

`citewatch run` (the installed command, in its own process) asks a local engine that answers with NUL
characters, a lone surrogate and the API key written into normal 200 answers, repeats the key in a 200
error envelope, and for some keywords streams an endless body, trickles a byte at a time, or sends a
gzip bomb. Reported: the exit code, the wall time, the child's peak RSS (target < 500 MB), the
observations stored by status (planned ones missing are lost work), and every place of the database that
holds the key, raw payloads included (target: none).

    python bench/hostile_batch.py [--storage-url postgresql://postgres@127.0.0.1/hostile] [--samples 3]
                                  [--keywords 10] [--timeout 3] [--concurrency 8] [--memory-limit-mb 4096]
                                  [--hostile endless trickle bomb envelope] [--storable-text]

Without --storage-url a fresh SQLite file is used. A PostgreSQL database given there is dropped and
created again first (it must be a throwaway one). The child runs under an address-space limit
(--memory-limit-mb) so that an unbounded read cannot take the machine down.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from storage.urls import SQLITE, with_driver  # noqa: E402
from tests.hostile_server import (  # noqa: E402
    HOSTILE_ESCAPES,
    KEY_VARIABLE,
    HostileServer,
    places_holding,
    run_measured,
    write_hostile_config,
)

SECRET = "sk-hostile-bench-0123456789abcdefSECRET"
HOSTILE = ("endless", "trickle", "bomb", "envelope")  # the hostile server's behaviours, by the word in the prompt


def fresh_postgres(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(with_driver(f"{base}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def stored_statuses(url: str) -> Counter[str]:
    engine = create_engine(with_driver(url))
    try:
        with engine.connect() as connection:
            return Counter(dict(connection.execute(text("SELECT status, count(*) FROM observation GROUP BY status"))
                                .all()))
    except Exception as exc:  # noqa: BLE001 (a batch that died before creating its tables)
        return Counter({f"unreadable ({type(exc).__name__})": 1})
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage-url")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--keywords", type=int, default=10, help="normal keywords beside the hostile ones")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hostile", nargs="*", choices=HOSTILE, default=list(HOSTILE),
                        help="the hostile keywords, one each (default: all)")
    parser.add_argument("--memory-limit-mb", type=int, default=4096)
    parser.add_argument("--storable-text", action="store_true",
                        help="answers carry the key but no NUL or lone surrogate (to see the rest where those "
                             "stop a batch)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, HostileServer(
            SECRET, trickle_gap=1.0, escapes="" if args.storable_text else HOSTILE_ESCAPES) as server:
        url = args.storage_url or f"{SQLITE}{Path(folder) / 'hostile.db'}"
        if not url.startswith(SQLITE):
            fresh_postgres(url)
        keywords = ([f"industrial ball valve question {i}" for i in range(args.keywords)]
                    + [f"{behaviour} answer please" for behaviour in args.hostile])
        config = write_hostile_config(Path(folder) / "config.yaml", server, url, keywords, samples=args.samples,
                                      timeout=args.timeout, concurrency=args.concurrency)
        run = run_measured([sys.executable, "-m", "monitor", "run", "--config", str(config)], cwd=ROOT,
                           env=dict(os.environ, **{KEY_VARIABLE: SECRET}), limit_mb=args.memory_limit_mb)
        planned = len(keywords) * args.samples
        statuses = stored_statuses(url)
        holding = places_holding(url, SECRET)
        print(f"storage={url.split(':', 1)[0]} planned={planned} keywords={len(keywords)} samples={args.samples} "
              f"timeout={args.timeout:g}s")
        print(f"exit={run.exit_code} wall={run.wall:.1f}s peak_rss={run.peak_mb:.0f}MB (target < 500MB) "
              f"endless_bytes_sent={server.endless_bytes_sent / 2**20:.0f}MB")
        print(f"stored={sum(statuses.values())}/{planned} by status: {dict(sorted(statuses.items()))}")
        print(f"key found in: {', '.join(holding) or 'nowhere'}")
        tail = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()][-8:]
        print("last lines of the run's output:\n  " + "\n  ".join(tail))


if __name__ == "__main__":
    main()
