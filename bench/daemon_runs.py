"""Thousands of daemon runs in one process: the job the daemon's scheduler calls (`Daemon.batch`), run back
to back against the local simulator with `bench/daemon_soak.py`'s config (alert rules and a json:// alert
channel on), and the process's resident memory and open descriptors read every `--every` runs (issue 11:
memory and descriptors flat over thousands of runs; target: growth under 10 % after warm-up).

`bench/daemon_soak.py` runs the real console script on a once-a-minute cron; cron cannot fire faster than
that, so this one calls the same job without the clock, to reach thousands of runs in minutes.

    python bench/daemon_runs.py [--minutes 10] [--keywords 5] [--samples 1] [--every 100] [--storage-url URL]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.daemon_soak import CONFIG, SERVER, reading  # noqa: E402


def hook_server() -> tuple[ThreadingHTTPServer, list[int]]:
    """A json:// endpoint on 127.0.0.1 counting the digests it receives."""
    received = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # else the server keeps every request's thread to join at close: a leak here
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keywords", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--storage-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    from monitor.config import load_config
    from monitor.scheduler import Daemon, schedules
    from storage.db import open_database

    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="citewatch-runs-"))
    simulator = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    assert simulator.stdout is not None
    port = int(simulator.stdout.readline())
    hook, received = hook_server()
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(
        keywords="\n".join(f"  - text: industrial valve query {n}" for n in range(args.keywords)), port=port,
        samples=args.samples, hook=hook.server_address[1],
        storage=args.storage_url or f"sqlite:///{folder / 'runs.db'}"), encoding="utf-8")
    config = load_config(path)
    daemon = Daemon(config, open_database(config.storage.url), say=lambda line: None, reload=None)
    [schedule] = schedules(config)
    readings: list[tuple[int, float, int, int]] = []
    started = time.monotonic()
    runs = 0
    try:
        while time.monotonic() - started < args.minutes * 60 or len(readings) < 2:
            daemon.batch(schedule)
            runs += 1
            if runs % args.every == 0:
                readings.append((runs, time.monotonic() - started, *reading(os.getpid())))
                print(f"{runs:6d} runs {readings[-1][1]:6.0f} s  RSS {readings[-1][2] / 1024:6.1f} MB  "
                      f"fds {readings[-1][3]:3d}  digests {received[0]}", flush=True)
    finally:
        simulator.stdin.close()  # type: ignore[union-attr]
        simulator.wait(30)
        hook.shutdown()
    first, last = readings[0], readings[-1]
    print(f"\n{runs} runs in {last[1] / 60:.1f} min, {received[0]} alert digests delivered; after run {first[0]}: "
          f"RSS {first[2] / 1024:.1f} MB, {first[3]} fds; after run {last[0]}: RSS {last[2] / 1024:.1f} MB, "
          f"{last[3]} fds; growth RSS {(last[2] - first[2]) / first[2]:+.1%}, fds {last[3] - first[3]:+d} "
          "(target: under 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
