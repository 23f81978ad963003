"""Probe overhead: N probes against a local server answering in 50 ms, at concurrency C.

The ideal wall time is N / C × 50 ms (2.5 s for 1,000 probes at 20); the
target is at most 1.25 × that, with peak memory under 300 MB. The whole
pipeline runs: fetch, parse, analysis, and one SQLite transaction per
observation. The simulator runs in its own process so that it does not share
this process's GIL or memory.

    python bench/probe_overhead.py [--probes 1000] [--concurrency 20] [--latency 0.05] [--kind openai]
                                   [--storage-url postgresql://127.0.0.1/bench]

Without --storage-url the observations go to a fresh SQLite file; a PostgreSQL
database given there should be empty (createdb bench), as each run adds a project.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.clock import system_clock  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.pipeline import run_batch  # noqa: E402
from storage.db import open_database  # noqa: E402

SERVER = """
import sys, time
from probes.simulator import Simulator, demo_scenario
sim = Simulator(demo_scenario(), latency={latency}).start()
print(sim.port, flush=True)
sys.stdin.read()
print(time.process_time(), flush=True)
"""

CONFIG = """\
brand: {{name: Hengda Valve, aliases: [Hengda, 恒达阀门], domains: [hengdavalve.com]}}
competitors:
  - {{name: Apex Flow Controls, aliases: [Apex Flow], domains: [apexflow.com]}}
  - {{name: NorthStar Valves, aliases: [NorthStar], domains: [northstarvalves.de]}}
keywords:
{keywords}
engines:
  - {{id: bench, kind: {kind}, model: {model}, base_url: "{base_url}", samples: {samples},
     concurrency: {concurrency}, timeout: 30, retries: 0}}
storage: {{url: "{storage_url}"}}
"""

BASE_SUFFIX = {"openai": "/openai/v1", "gemini": "/gemini/v1beta", "perplexity": "/perplexity",
               "perplexity_agent": "/perplexity_agent",
               "anthropic": "/anthropic", "openai_chat": "/openai_chat/v1", "openai_compatible": "/openai_compatible/v1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--kind", default="openai", choices=sorted(BASE_SUFFIX))
    parser.add_argument("--storage-url", help="a database URL instead of a fresh SQLite file")
    args = parser.parse_args()
    samples = 20
    keywords = max(1, args.probes // samples)
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(latency=args.latency)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as folder:
            config_path = Path(folder) / "bench.yaml"
            config_path.write_text(CONFIG.format(
                keywords="\n".join(f"  - text: industrial valve keyword {i}" for i in range(keywords)),
                kind=args.kind, model="bench-model" if args.kind != "gemini" else "gemini-2.5-flash",
                base_url=f"http://127.0.0.1:{port}{BASE_SUFFIX[args.kind]}", samples=samples,
                concurrency=args.concurrency,
                storage_url=args.storage_url or f"sqlite:///{Path(folder) / 'bench.db'}"), encoding="utf-8")
            config = load_config(config_path)
            db = open_database(config.storage.url)
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = asyncio.run(run_batch(config, db, system_clock))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server_cpu = float(server.stdout.readline() or "nan")  # type: ignore[union-attr]
        server.wait(10)
    probes = keywords * samples
    ideal = probes / args.concurrency * args.latency
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"kind={args.kind} probes={probes} concurrency={args.concurrency} latency={args.latency * 1000:.0f}ms "
          f"storage={config.storage.url.split(':', 1)[0]}")
    print(f"stored={summary.stored} failed={summary.failed}")
    print(f"wall={elapsed:.2f}s ideal={ideal:.2f}s ratio={elapsed / ideal:.2f} (target <= 1.25)")
    print(f"client_cpu={cpu:.2f}s ({cpu / probes * 1000:.2f} ms a probe: fetch, parse, analysis, storage)")
    print(f"server_cpu={server_cpu:.2f}s (the simulator, sharing this machine's {os.cpu_count()} cores)")
    print(f"peak_rss={peak_mb:.0f}MB (target < 300MB)")


if __name__ == "__main__":
    main()
