"""Speed of the Google result-page parser (kind google_browser) beside the floor: a bare lxml parse.

For each real page in ../shared/realdata/google_serp_html/ (skipped where the folder is absent) and a
synthetic ~1 MB page (ads, an AI Overview, People also ask and 100 organic results, padded with the inline
scripts, styles and base64 thumbnails real pages carry), the median of --runs timed calls (time.perf_counter) of

- parse: `probes.parsers.google_html.parse(page)`, the whole Answer;
- floor: `lxml.html.fromstring(page)`, the tree alone, nothing read from it;
- bs4 (with --bs4): `BeautifulSoup(page, "lxml")`, the tree a bs4-based parser starts from;

and parse / floor. Target: parse within 3x the floor on every page.

    python bench/google_html_parser.py [--runs 30] [--bs4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lxml.html

from probes.parsers.google_html import parse

REALDATA = Path(os.environ.get("CITEWATCH_REALDATA", ROOT / "../shared/realdata")) / "google_serp_html"
FIXTURES = ROOT / "tests" / "fixtures" / "google_html"
TARGET = 3.0


def synthetic_page(size: int = 1_000_000, results: int = 100) -> bytes:
    """A ~1 MB page in the 2026 markup: our overview fixture's head, ads, overview and People also ask, then
    `results` organic results; the rest of the megabyte is what makes real pages that large (inline
    scripts, style blocks, base64 thumbnails) spread between the results."""
    before = (FIXTURES / "overview_before.html").read_text(encoding="utf-8")
    head, _, rest = before.partition('<div id="rso">')
    body, _, tail = rest.rpartition("</div></div></div></div></div></div>")
    organic = [
        f'<div class="MjjYud"><div data-hveid="CA{n}QAA"><div class="N54PNb"><div class="yuRUbf"><div><span>'
        f'<a href="https://www.example{n}.com/valves/{n}"><br><h3 class="LC20lb MBeuO">Ball valve supplier {n}'
        f'</h3><div class="notranslate"><cite role="text">https://www.example{n}.com › valves</cite></div></a>'
        f'</span></div></div><div class="VwiC3b yXK7lf" data-sncf="1"><span>Supplier {n} makes API 6D trunnion '
        f'and floating ball valves, gate valves and check valves for oil and gas.</span></div>'
        f'<div role="button" aria-label="About this result"><span></span></div></div></div></div>'
        for n in range(1, results + 1)]
    used = len(head) + len(body) + len(tail) + sum(map(len, organic))
    padding = max(0, size - used) // results
    filler = ("<script>(function(){var d=" + repr("x" * (padding // 2)) + ";})();</script>"
              "<style>" + ".a{color:red}" * (padding // 4 // 13) + "</style>"
              f'<img src="data:image/png;base64,{"A" * (padding // 4)}" alt="">')
    blocks = [body, *(block + filler for block in organic)]
    return (head + '<div id="rso">' + "".join(blocks) + "</div></div></div></div></div></div>" + tail).encode()


def median_seconds(call: Callable[[], object], runs: int) -> float:
    call()  # warm up (imports, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--runs", type=int, default=30)
    options.add_argument("--bs4", action="store_true", help="also time a bare BeautifulSoup(page, 'lxml') tree")
    args = options.parse_args()

    pages: list[tuple[str, bytes]] = []
    if REALDATA.is_dir():
        pages += [(path.name, path.read_bytes()) for path in sorted(REALDATA.glob("*.html"))]
    else:
        print(f"(real pages not found at {REALDATA}: timing the synthetic page only)")
    pages.append(("synthetic ~1 MB page", synthetic_page()))

    if args.bs4:
        from bs4 import BeautifulSoup

    header = f"{'page':58} {'KB':>6} {'parse ms':>9} {'floor ms':>9} {'ratio':>6}" + (
        f" {'bs4 ms':>8}" if args.bs4 else "")
    print(header)
    worst = 0.0
    for name, data in pages:
        parsed = median_seconds(lambda page=data: parse(page), args.runs)
        floor = median_seconds(lambda page=data: lxml.html.fromstring(page), args.runs)
        ratio = parsed / floor
        worst = max(worst, ratio)
        line = f"{name[:58]:58} {len(data) / 1024:6.0f} {parsed * 1e3:9.2f} {floor * 1e3:9.2f} {ratio:6.2f}"
        if args.bs4:
            line += f" {median_seconds(lambda page=data: BeautifulSoup(page, 'lxml'), max(3, args.runs // 5)) * 1e3:8.1f}"
        print(line)
    print(f"worst ratio {worst:.2f} (target <= {TARGET:.1f}): {'met' if worst <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
