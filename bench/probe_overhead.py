"""Probe overhead: N probes against a local server answering in 50 ms, at concurrency C, beside a floor.

The pipeline (fetch, parse, analysis, one transaction per observation) is measured against two
references, so that the figure means the same on a quiet machine and a busy one:

- the ideal, N / C x latency (2.5 s for 1,000 probes at 20): target pipeline <= 1.25 x ideal;
- the floor, measured in this same process: a bare httpx client sending the same requests to the same
  simulator at the same concurrency, with nothing done to the answers: target pipeline <= 1.15 x floor.

Each of --rounds rounds runs the floor, then the pipeline; the medians are the result. The simulator runs in its
own process so that it does not share this process's GIL or memory.

    python bench/probe_overhead.py [--probes 1000] [--concurrency 20] [--latency 0.05] [--kind openai]
                                   [--rounds 3] [--storage-url postgresql://127.0.0.1/bench]

Without --storage-url each round's observations go to a fresh SQLite file; a PostgreSQL database given
there should be empty (createdb bench), as each round adds a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.clock import system_clock  # noqa: E402
from monitor.config import Config, load_config  # noqa: E402
from monitor.pipeline import make_probe, plan, probe_request, run_batch  # noqa: E402
from probes import registry  # noqa: E402
from probes.simulator.formats import FORMATS  # noqa: E402
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
  - {{id: bench, kind: {kind}, model: bench-model, base_url: "{base_url}", samples: {samples},
     concurrency: {concurrency}, timeout: 30, retries: 0}}
storage: {{url: "{storage_url}"}}
"""
SAMPLES = 20


@dataclass
class Timing:
    wall: float
    cpu: float


async def bare_client(config: Config) -> Timing:
    """The floor: the batch's requests (same URL, body and concurrency) through one plain httpx client,
    reading each body and nothing more."""
    engine = config.engines[0]
    probe = make_probe(engine)
    requests = [(probe.url, probe.request_body(probe_request(task.keyword))) for task in plan(config)]
    await probe.aclose()
    slots = asyncio.Semaphore(engine.concurrency)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:

        async def one(url: str, body: dict) -> None:
            async with slots:
                response = await client.post(url, json=body)
                response.raise_for_status()
                await response.aread()

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(url, body) for url, body in requests))
        return Timing(time.perf_counter() - started, time.process_time() - cpu_started)


def pipeline(config: Config) -> tuple[Timing, int]:
    db = open_database(config.storage.url)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = asyncio.run(run_batch(config, db, system_clock))
    timing = Timing(time.perf_counter() - started, time.process_time() - cpu_started)
    db.dispose()
    return timing, summary.failed


def write_config(folder: Path, round_index: int, args: argparse.Namespace, port: int) -> Config:
    keywords = max(1, args.probes // SAMPLES)
    path = folder / f"bench-{round_index}.yaml"
    path.write_text(CONFIG.format(
        keywords="\n".join(f"  - text: industrial valve keyword {i}" for i in range(keywords)), kind=args.kind,
        base_url=f"http://127.0.0.1:{port}/{args.kind}{FORMATS[args.kind].BASE_SUFFIX}", samples=SAMPLES,
        concurrency=args.concurrency,
        storage_url=args.storage_url or f"sqlite:///{folder / f'bench-{round_index}.db'}"), encoding="utf-8")
    return load_config(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--kind", default="openai",
                        choices=sorted(kind for kind in FORMATS if not registry.KINDS[kind].browser))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage-url", help="a database URL instead of a fresh SQLite file per round")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(latency=args.latency)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    floors: list[Timing] = []
    runs: list[Timing] = []
    failed = 0
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as folder:
            for round_index in range(args.rounds):
                config = write_config(Path(folder), round_index, args, port)
                floors.append(asyncio.run(bare_client(config)))
                timing, round_failed = pipeline(config)
                runs.append(timing)
                failed += round_failed
                print(f"round {round_index + 1}: floor {floors[-1].wall:.2f}s, pipeline {timing.wall:.2f}s "
                      f"(x{timing.wall / floors[-1].wall:.2f})", flush=True)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server_cpu = float(server.stdout.readline() or "nan")  # type: ignore[union-attr]
        server.wait(10)
    probes = max(1, args.probes // SAMPLES) * SAMPLES
    ideal = probes / args.concurrency * args.latency
    floor_wall, run_wall = statistics.median(t.wall for t in floors), statistics.median(t.wall for t in runs)
    floor_cpu, run_cpu = statistics.median(t.cpu for t in floors), statistics.median(t.cpu for t in runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"kind={args.kind} probes={probes} concurrency={args.concurrency} latency={args.latency * 1000:.0f}ms "
          f"rounds={args.rounds} storage={(args.storage_url or 'sqlite').split(':', 1)[0]} failed={failed}")
    print(f"ideal={ideal:.2f}s floor={floor_wall:.2f}s pipeline={run_wall:.2f}s (medians)")
    print(f"pipeline/ideal={run_wall / ideal:.2f} (target <= 1.25)  floor/ideal={floor_wall / ideal:.2f}")
    print(f"pipeline/floor={run_wall / floor_wall:.2f} (target <= 1.15)")
    print(f"client_cpu per probe: pipeline {run_cpu / probes * 1000:.2f} ms, floor {floor_cpu / probes * 1000:.2f} ms "
          f"(x{run_cpu / floor_cpu:.2f}); the difference is parse, analysis, storage and the SDK")
    print(f"server_cpu={server_cpu:.2f}s (the simulator, sharing this machine's {os.cpu_count()} cores)")
    print(f"peak_rss={peak_mb:.0f}MB (target < 300MB)")


if __name__ == "__main__":
    main()
