"""`citewatch ingest-logs` against GoAccess and the floor of reading the file (issue 12; target: at least 10x
GoAccess's throughput end to end, database writes included, with peak memory under 200 MB).

Generates a realistic combined log (default 5,000,000 lines): about 1 % page views referred by AI
assistants (chatgpt.com, perplexity.ai, gemini.google.com, copilot, claude.ai, doubao, kimi ...), 10 % bot
hits (AI crawlers and others: Googlebot, bingbot, curl), assets and pages, 2xx/3xx/4xx, a few malformed
lines, and several time zones. Then times, in the same run:

- the floor: `wc -l` on the file;
- GoAccess (Debian's `goaccess`): `goaccess FILE --log-format=COMBINED -o report.json`;
- citewatch: the installed `citewatch ingest-logs` console script into a fresh SQLite database, with its
  peak resident memory (the child's ru_maxrss).

and prints each throughput in lines per second and the ratios.

    python bench/traffic_ingest.py [--lines 5000000] [--keep DIR] [--storage-url URL] [--skip-goaccess]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")

AI_REFERRERS = (
    "https://chatgpt.com/", "https://chat.openai.com/", "https://www.perplexity.ai/search/abc",
    "https://gemini.google.com/app", "https://copilot.microsoft.com/", "https://claude.ai/chat/x",
    "https://chat.deepseek.com/", "https://www.doubao.com/chat/", "https://kimi.moonshot.cn/chat/x",
    "https://tongyi.aliyun.com/qianwen/",
)
HUMAN_REFERRERS = ("-", "-", "-", "https://www.google.com/", "https://www.bing.com/", "https://www.baidu.com/s?wd=x",
                   "https://www.hengdavalve.com/", "https://www.linkedin.com/")
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
)
BOTS = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; "
    "+https://openai.com/searchbot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; "
    "+https://openai.com/bot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
    "+https://perplexity.ai/perplexitybot)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
    "(compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
)
PAGES = [f"/products/{kind}-valve-{n}" for kind in ("ball", "gate", "globe", "check") for n in range(50)] + [
    "/", "/about", "/contact", "/blog/how-to-choose-a-ball-valve", "/zh/products/api-6d-ball-valve"]
ASSETS = ("/static/app.js", "/static/site.css", "/img/logo.png", "/favicon.ico", "/fonts/inter.woff2")
ZONES = (timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=1)))
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def stamp(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return (f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


def generate(path: Path, lines: int, seed: int = 12) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 11, 23, tzinfo=UTC)
    step = timedelta(days=7) / lines
    zone = ZONES[0]
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            if n % 100_000 == 0:
                zone = rng.choice(ZONES)  # a server moved between zones: the times must still line up
            moment = (start + n * step).astimezone(zone)
            roll = rng.random()
            client = f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if roll < 0.0005:
                out.write(rng.choice(("\x00\x01garbage", "GET / HTTP/1.1", f'{client} - - [{stamp(moment)}] "GET')))
                out.write("\n")
                continue
            status = rng.choice((200, 200, 200, 200, 304, 301, 404))
            if roll < 0.01:  # AI referral to a page
                agent, referrer, path_ = rng.choice(BROWSERS), rng.choice(AI_REFERRERS), rng.choice(PAGES)
                if rng.random() < 0.2:
                    path_ += "?utm_source=chatgpt.com"
            elif roll < 0.11:  # a bot
                agent, referrer, path_ = rng.choice(BOTS), "-", rng.choice(PAGES)
            else:
                agent, referrer = rng.choice(BROWSERS), rng.choice(HUMAN_REFERRERS)
                path_ = rng.choice(ASSETS) if rng.random() < 0.6 else rng.choice(PAGES)
            size = rng.randrange(200, 90_000)
            out.write(f'{client} - - [{stamp(moment)}] "GET {path_} HTTP/1.1" {status} {size} "{referrer}" '
                      f'"{agent}"\n')


def tree_rss_kb(pid: int) -> int:
    """The resident memory of a process and all its descendants (worker processes included), from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration):
            continue  # gone meanwhile
    return total


def timed(command: list[str], **kwargs: object) -> tuple[float, int]:
    """Wall seconds and the peak of the summed resident memory of the command and its worker processes
    (KB, sampled every 50 ms)."""
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss_kb(child.pid))
        time.sleep(0.05)
    if child.returncode:
        sys.exit(f"{command[0]} failed with exit code {child.returncode}")
    return time.perf_counter() - began, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--keep", type=Path, help="folder for the log and database (default: a temporary one)")
    parser.add_argument("--storage-url", help="database URL (default: SQLite in the folder)")
    parser.add_argument("--skip-goaccess", action="store_true")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cw-traffic-"))
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "access.log"
    counted = subprocess.run(["wc", "-l", str(log)], capture_output=True, text=True).stdout.split()[:1]
    if counted != [str(args.lines)]:
        began = time.perf_counter()
        generate(log, args.lines)
        print(f"generated {args.lines:,} lines ({log.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - began:.0f} s")
    lines = args.lines
    floor, _ = timed(["wc", "-l", str(log)])
    print(f"wc -l:      {floor:7.2f} s  {lines / floor:12,.0f} lines/s")
    goaccess = None
    if not args.skip_goaccess:
        if shutil.which("goaccess") is None:
            sys.exit("goaccess not found: apt-get install goaccess, or --skip-goaccess")
        goaccess, _ = timed(["goaccess", str(log), "--log-format=COMBINED", "-o", str(folder / "report.json")],
                            stderr=subprocess.DEVNULL)
        print(f"GoAccess:   {goaccess:7.2f} s  {lines / goaccess:12,.0f} lines/s")
    url = args.storage_url or f"sqlite:///{folder / 'traffic.db'}"
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    config = folder / "config.yaml"
    config.write_text(
        "brand: {name: Hengda Valve, domains: [hengdavalve.com]}\n"
        "keywords: [{text: ball valve}]\n"
        "engines: [{id: chatgpt, kind: openai}]\n"
        f"storage: {{url: '{url}'}}\n"
        "traffic: {format: combined}\n", encoding="utf-8")
    env = dict(os.environ, OPENAI_API_KEY="unused")
    ours, peak_kb = timed([str(CONSOLE_SCRIPT), "ingest-logs", "--config", str(config), str(log)], env=env)
    print(f"citewatch:  {ours:7.2f} s  {lines / ours:12,.0f} lines/s, peak RSS {peak_kb / 1024:.0f} MB "
          "(the command and its workers together)")
    if goaccess is not None:
        print(f"citewatch is {goaccess / ours:.1f}x GoAccess's throughput; the floor (wc -l) is "
              f"{ours / floor:.1f}x faster than citewatch")
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
