"""Daemon soak: `citewatch daemon` on a schedule of every minute against the local simulator, for at least
10 minutes, with its resident memory and open descriptors read from /proc at the start and at the end
(issue 11; target: growth under 10 %).

The simulator runs in its own process; the daemon is the installed console script, as an operator runs it,
with --now so that the first run starts at once. Each minute's run probes --keywords keywords on the
simulator's OpenAI-compatible and Perplexity endpoints with --samples samples, with alert rules on and a
json:// alert channel on 127.0.0.1. RSS and descriptors are
read after each run ends (when the log says "next run at"), so that a run in flight does not count; the
growth is counted from the second run on: the first loads the interpreter, the parsers and the database,
the second what only a later run needs (the freshness check, a resumed run's reads); both are printed.

    python bench/daemon_soak.py [--minutes 10] [--keywords 40] [--samples 2] [--storage-url URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
SERVER = """
import sys
from probes.simulator import Simulator, demo_scenario
sim = Simulator(demo_scenario(), latency=0.05).start()
print(sim.port, flush=True)
sys.stdin.read()
"""
CONFIG = """\
brand: {{name: Hengda Valve, aliases: [Hengda, 恒达阀门], domains: [hengdavalve.com]}}
competitors:
  - {{name: Apex Flow Controls, aliases: [Apex Flow], domains: [apexflow.com]}}
keywords:
{keywords}
engines:
  - {{id: chatgpt, kind: openai, model: gpt-5-mini, base_url: "http://127.0.0.1:{port}/openai/v1", samples: {samples},
      concurrency: 8, retries: 0}}
  - {{id: sonar, kind: perplexity, model: sonar, base_url: "http://127.0.0.1:{port}/perplexity", samples: {samples},
      concurrency: 8, retries: 0}}
storage: {{url: "{storage}"}}
schedule: {{cron: "* * * * *", timezone: UTC}}
alerts:
  channels: ["json://127.0.0.1:{hook}/hook"]
  rules:
    - {{kind: citation_lost, confirm_runs: 1}}
    - {{kind: citation_gained, confirm_runs: 1}}
    - {{kind: engine_failing}}
"""


def reading(pid: int) -> tuple[int, int]:
    """(resident set in KB, open descriptors) of process `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keywords", type=int, default=40)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--storage-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="citewatch-soak-"))
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    keywords = "\n".join(f"  - text: industrial valve query {n}" for n in range(args.keywords))
    config = folder / "config.yaml"
    from bench.daemon_runs import hook_server

    hook, received = hook_server()
    config.write_text(CONFIG.format(keywords=keywords, port=port, samples=args.samples, hook=hook.server_address[1],
                                    storage=args.storage_url or f"sqlite:///{folder / 'soak.db'}"), encoding="utf-8")
    daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now"], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
    readings: list[tuple[float, int, int, str]] = []
    started = time.monotonic()

    def watch() -> None:
        assert daemon.stderr is not None
        summary = ""
        for line in daemon.stderr:
            if "stored" in line and "run " in line:
                summary = line.split("citewatch.scheduler: ", 1)[-1].strip()
            if "next run at" in line and "citewatch daemon:" not in line:
                readings.append((time.monotonic() - started, *reading(daemon.pid), summary))
                print(f"{readings[-1][0]:6.0f} s  RSS {readings[-1][1] / 1024:6.1f} MB  fds {readings[-1][2]:3d}  "
                      f"{summary}", flush=True)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        while time.monotonic() - started < args.minutes * 60 or len(readings) < 3:
            time.sleep(1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(120)
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(30)
    first, second, last = readings[0], readings[min(1, len(readings) - 1)], readings[-1]
    print(f"\n{len(readings)} runs in {last[0] / 60:.1f} min; RSS after the first run {first[1] / 1024:.1f} MB, "
          f"after the second {second[1] / 1024:.1f} MB ({second[2]} fds), after the last {last[1] / 1024:.1f} MB "
          f"({last[2]} fds); growth from the second run: RSS {(last[1] - second[1]) / second[1]:+.1%}, fds "
          f"{last[2] - second[2]:+d} (target: under 10 %); {received[0]} alert digests received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
