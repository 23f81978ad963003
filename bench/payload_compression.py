"""Bytes per stored raw payload, and speed, for each way `storage.compression` can store one (issue 10).

For each engine kind: the kind's real public payloads in ../shared/realdata/ (see SOURCES.md) where that
folder is present, else the project's own fixtures in tests/fixtures/. Each payload is compressed with

- zlib-6: what every payload stored before migration 0007 is;
- zstd at levels 3, 9 and 19 without a dictionary;
- the same with a dictionary trained on *the other* payloads of the kind (leave one out: a payload never
  helps train the dictionary it is measured with; the pool is the kind's other real payloads plus the
  kind's fixtures, which share the wire format).

The first table gives, per kind, the mean raw bytes per payload, the mean bytes of opaque tokens in it
(encrypted search results and reasoning, signatures, base64 images: random bytes that no codec stores in
less than 3/4 of their length) and the mean stored bytes per payload for each method. The second gives,
over all kinds, stored / raw and the speed of compression and decompression in MB/s of raw payload (the
median of --runs timed passes, dictionaries already loaded).

A dictionary trained on a dozen payloads (all the samples hold of a kind) learns those payloads more than
what every payload of the kind shares; one trained on 2,000 recent payloads of a real history (what
`storage.payload_store.train_payload_dictionaries` does) should do at least as well, so read the
dictionary figures here as conservative.

--without-opaque measures the same payloads with those tokens cut out: what compression has to work on.

    python bench/payload_compression.py [--runs 5] [--kinds openai,gemini] [--fixtures] [--without-opaque]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import compression
from storage.compression import Dictionary

REALDATA = Path(os.environ.get("CITEWATCH_REALDATA", ROOT / "../shared/realdata"))
FIXTURES = ROOT / "tests" / "fixtures"
LEVELS = (3, 9, 19)
# opaque tokens: encrypted search results and reasoning, signatures, base64 images. Random bytes in base64:
# no codec stores them in less than 3/4 of their length, dictionary or not.
OPAQUE = re.compile(rb"[A-Za-z0-9+/_-]{100,}={0,2}")

# engine kind -> (realdata folder, file name patterns there, fixture folder): the payloads a probe of
# that kind stores (non-streamed responses; the Gemini Interactions API and SSE streams are other formats)
KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "openai": ("openai_json", ("responses_web_search_*.json", "azure_responses_*.json"), "openai"),
    "openai_chat": ("openai_json", ("chat_completions_*.json", "openrouter_chat_*.json"), "openai_chat"),
    "perplexity": ("perplexity_json", ("sonar_*.json",), "perplexity"),
    "gemini": ("gemini_json", ("generate_content_*.json", "vertex_generate_content_*.json"), "gemini"),
    "anthropic": ("anthropic_json", ("messages_*.json",), "anthropic"),
    "serpapi": ("serpapi_json", ("*.json",), "serpapi"),
    "dataforseo": ("dataforseo_json", ("*.json",), "dataforseo"),
    "google_browser": ("google_serp_html", ("*.html",), "google_html"),
}


@dataclass
class Kind:
    name: str
    measured: list[bytes]  # the payloads whose sizes the table gives
    pool: list[bytes]  # the payloads dictionaries are trained from (measured ones included)
    source: str


@dataclass
class Result:
    sizes: list[int] = field(default_factory=list)
    compress_seconds: float = 0.0
    decompress_seconds: float = 0.0


def opaque_bytes(payload: bytes) -> int:
    return sum(len(token) for token in OPAQUE.findall(payload))


def load_kinds(selected: list[str] | None, fixtures_only: bool, without_opaque: bool = False) -> list[Kind]:
    kinds = []
    for name, (folder, patterns, fixture_folder) in KINDS.items():
        if selected and name not in selected:
            continue
        fixtures = _read(sorted((FIXTURES / fixture_folder).glob("*")))
        real = [] if fixtures_only else _read(sorted(
            {path for pattern in patterns for path in (REALDATA / folder).glob(pattern)}))
        if without_opaque:
            fixtures, real = ([OPAQUE.sub(b"", payload) for payload in found] for found in (fixtures, real))
        if real:
            kinds.append(Kind(name, real, real + fixtures, f"{len(real)} real + {len(fixtures)} fixtures"))
        elif fixtures:
            kinds.append(Kind(name, fixtures, fixtures, f"{len(fixtures)} fixtures"))
    return kinds


def _read(paths: list[Path]) -> list[bytes]:
    return [path.read_bytes() for path in paths if path.is_file()]


def leave_one_out_dictionaries(kind: Kind) -> list[Dictionary | None]:
    """For each measured payload, a dictionary trained on every other payload of the kind's pool."""
    dictionaries: list[Dictionary | None] = []
    for index, payload in enumerate(kind.measured):
        others = [sample for sample in kind.pool if sample is not payload]
        try:
            data = compression.train_dictionary(others)
        except ValueError:
            dictionaries.append(None)
            continue
        dictionaries.append(Dictionary(index + 1, data))
    return dictionaries


def measure(payloads: list[bytes], runs: int, pack: Callable[[bytes, int], bytes],
            unpack: Callable[[bytes, int], bytes]) -> Result:
    result = Result()
    packed = [pack(payload, index) for index, payload in enumerate(payloads)]
    for index, payload in enumerate(payloads):
        assert unpack(packed[index], index) == payload
    result.sizes = [len(data) for data in packed]
    compress_times, decompress_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        for index, payload in enumerate(payloads):
            pack(payload, index)
        compress_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for index, data in enumerate(packed):
            unpack(data, index)
        decompress_times.append(time.perf_counter() - start)
    result.compress_seconds = statistics.median(compress_times)
    result.decompress_seconds = statistics.median(decompress_times)
    return result


def methods(dictionaries: list[Dictionary | None]) -> dict[str, tuple[Callable, Callable]]:  # type: ignore[type-arg]
    found: dict[str, tuple[Callable, Callable]] = {  # type: ignore[type-arg]
        "zlib-6": (lambda raw, i: zlib.compress(raw, 6), lambda data, i: zlib.decompress(data))}
    for level in LEVELS:
        found[f"zstd-{level}"] = (
            lambda raw, i, level=level: compression.compress(raw, None, level).data,
            lambda data, i: compression.decompress(data, compression.ZSTD, None))
    if all(dictionary is not None for dictionary in dictionaries):
        for level in LEVELS:
            found[f"zstd-{level}+dict"] = (
                lambda raw, i, level=level: compression.compress(raw, dictionaries[i], level).data,
                lambda data, i: compression.decompress(data, compression.ZSTD, dictionaries[i]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kinds", help="comma-separated engine kinds (default: all)")
    parser.add_argument("--fixtures", action="store_true", help="measure the fixtures even where realdata is")
    parser.add_argument("--without-opaque", action="store_true",
                        help="measure the payloads with their opaque tokens cut out (what compression can work on)")
    args = parser.parse_args()
    kinds = load_kinds(args.kinds.split(",") if args.kinds else None, args.fixtures, args.without_opaque)
    if not kinds:
        sys.exit("no payloads found")
    names = ["zlib-6", *(f"zstd-{level}" for level in LEVELS), *(f"zstd-{level}+dict" for level in LEVELS)]
    print(f"payloads from {REALDATA if any('real' in k.source for k in kinds) else FIXTURES}")
    print("mean stored bytes per payload (dictionary: trained on the kind's other payloads)")
    print(f"{'kind':<15}{'payloads':<24}{'raw':>8}{'opaque':>8}" + "".join(f"{name:>14}" for name in names))
    speeds: dict[str, list[tuple[int, int, float, float]]] = {name: [] for name in names}
    for kind in kinds:
        started = time.perf_counter()
        dictionaries = leave_one_out_dictionaries(kind)
        training = (time.perf_counter() - started) / len(kind.measured)
        results = {name: measure(kind.measured, args.runs, pack, unpack)
                   for name, (pack, unpack) in methods(dictionaries).items()}
        raw_total = sum(map(len, kind.measured))
        cells = [f"{statistics.mean(results[name].sizes):>14,.0f}" if name in results else f"{'-':>14}"
                 for name in names]
        opaque = sum(map(opaque_bytes, kind.measured)) / len(kind.measured)
        print(f"{kind.name:<15}{kind.source:<24}{raw_total / len(kind.measured):>8,.0f}{opaque:>8,.0f}" + "".join(cells)
              + (f"   (train {training * 1000:.0f} ms)" if dictionaries[0] is not None else "   (too few to train)"))
        for name, result in results.items():
            speeds[name].append((raw_total, sum(result.sizes), result.compress_seconds, result.decompress_seconds))
    print()
    print("all kinds: total stored / total raw, and speed in MB/s of raw payload")
    print(f"{'method':<16}{'ratio':>8}{'compress':>12}{'decompress':>12}")
    for name in names:
        if not speeds[name]:
            continue
        raw_total = sum(raw for raw, _, _, _ in speeds[name])
        stored = sum(size for _, size, _, _ in speeds[name])
        print(f"{name:<16}{stored / raw_total:>8.3f}{raw_total / 1e6 / sum(c for _, _, c, _ in speeds[name]):>12,.1f}"
              f"{raw_total / 1e6 / sum(d for _, _, _, d in speeds[name]):>12,.1f}")


if __name__ == "__main__":
    main()
