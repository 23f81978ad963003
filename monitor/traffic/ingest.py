"""`citewatch ingest-logs`: read access logs (plain or gzip, rotated sets in order) into daily counts of AI
referrals and AI crawler hits.

A file is recognised by its first bytes (`storage.traffic.HEAD_BYTES`, decompressed), not by its name, so
`access.log` read today and `access.log.1.gz` tomorrow are one file, counted once; a file that grew since
continues at the end of its last complete line. Counts and the reading position are committed together
every `FLUSH_LINES` lines: a database failure mid-file loses nothing, and the next ingest resumes after
the last committed chunk. A line that cannot be read is counted as malformed and skipped (a few samples
are kept for the summary), never a crash.

Addresses are used in memory only: to verify a crawler against its operator's published ranges and to
group page views into visits (a client's page views from one source with less than 30 minutes between
them). What is stored has no address.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine

from citewatch.errors import UsageError
from monitor.traffic.classify import Classifier, VisitCounter
from monitor.traffic.formats import Hit, LineParser, MalformedLine, detect_format, make_parser
from monitor.traffic.ga4 import Ga4FormatError, read_ga4_csv
from monitor.traffic.scan import (
    PATTERNS,
    Candidates,
    Sieve,
    every_line,
    line_count,
    lines_to_read,
    scan_in_worker,
    scan_range_in_worker,
    start_worker,
)
from storage import traffic
from storage.models import AiCrawlerDay, AiReferralDay, AnalyticsSessionDay

FLUSH_LINES = 200_000
BLOCK_BYTES = 1 << 20
NEWLINE = b"\n"
# a file this big is scanned in worker processes, at most this many
PARALLEL_BYTES, MAX_WORKERS = 32 << 20, 4
RANGE_BYTES = 4 << 20  # what a worker reads of a plain file at a time
SAMPLES_KEPT = 3
DETECT_LINES = 20


@dataclass
class FileSummary:
    path: Path
    format: str
    state: str  # "new" | "continued" | "already read"
    lines: int = 0  # lines read this time
    malformed: int = 0
    samples: list[str] = field(default_factory=list)  # "line N: reason", the first few malformed lines
    pageviews: int = 0
    visits: int = 0
    crawler_hits: int = 0
    sessions: int = 0  # an analytics export's AI sessions (both source views)


@dataclass
class ParserChoice:
    """How to read lines: a format name (or "auto": detected per file) and its options (an nginx log_format,
    a JSON-lines field mapping)."""

    format: str = "auto"
    options: dict[str, object] = field(default_factory=dict)

    def parser_for(self, path: Path, first_lines: list[str]) -> tuple[str, LineParser]:
        name = self.format
        if name == "auto":
            detected = detect_format(first_lines)
            if detected is None:
                raise UsageError(f"{path}: cannot tell the log format from its first lines; "
                                 "set traffic.format in the config (or --format)")
            name = detected
        return name, make_parser(name, **self.options)


# --- rotated sets -----------------------------------------------------------------------------------------

# access.log.3.gz, access.log.1, access.log-20261201.gz, access.log
_ROTATED = re.compile(r"^(?P<base>.+?)(?:[.-](?P<mark>\d{1,3}|\d{8}(?:\d{2})?))?(?P<gz>\.gz)?$")


def reading_order(paths: Iterable[Path]) -> list[Path]:
    """Oldest first within each rotated set: numbered copies from the highest number down, dated copies by
    date, the live file last; sets in the order of their base names."""
    def key(path: Path) -> tuple[str, int, int]:
        match = _ROTATED.match(path.name)
        assert match is not None  # the pattern matches any name
        base, mark = str(path.parent / match["base"]), match["mark"]
        if mark is None:
            return base, 1, 0
        number = int(mark)
        return base, 0, -number if len(mark) <= 3 else number
    return sorted(paths, key=key)


# --- reading ---------------------------------------------------------------------------------------------


def _open(path: Path) -> tuple[BinaryIO, bool]:
    try:
        with path.open("rb") as probe:
            compressed = probe.read(2) == b"\x1f\x8b"
        return (gzip.open(path, "rb") if compressed else path.open("rb")), compressed  # type: ignore[return-value]
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _head(path: Path) -> bytes:
    stream, _ = _open(path)
    try:
        return stream.read(traffic.HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    finally:
        stream.close()


def _skip(stream: BinaryIO, compressed: bool, count: int) -> None:
    if not compressed:
        stream.seek(count)
        return
    while count > 0:  # a gzip stream cannot seek cheaply: read and drop
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            break
        count -= len(chunk)


@dataclass
class _Counts:
    referrals: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    crawlers: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0]))

    def clear(self) -> None:
        self.referrals.clear()
        self.crawlers.clear()


class Ingest:
    """One `ingest-logs` invocation: files read in order, visits grouped across them."""

    def __init__(self, db: Engine, project_id: int, classifier_options: dict[str, Any], choice: ParserChoice,
                 clock: Callable[[], datetime], progress: Callable[[Path, int, int], None] | None = None) -> None:
        """`classifier_options`: the `Classifier` arguments (workers build their own from them)."""
        self.db, self.project_id, self.choice = db, project_id, choice
        self.classifier_options = classifier_options
        self.classifier = Classifier(**classifier_options)
        self.clock, self.progress = clock, progress or (lambda path, done, total: None)
        self.visits = VisitCounter()
        self.sieve = Sieve(self.classifier)

    def files(self, paths: Iterable[Path]) -> list[FileSummary]:
        return [self.file(path) for path in reading_order(paths)]

    def file(self, path: Path) -> FileSummary:
        head = _head(path)
        with self.db.connect() as connection:
            known = traffic.known_file(connection, self.project_id, head)
        if is_ga4_export(head):
            return self._analytics_export(path, head, known)
        stream, compressed = _open(path)
        try:
            _skip(stream, compressed, known.bytes_read if known else 0)
            name, parser = self.choice.parser_for(path, _first_lines(head))
            if known is not None:
                _prime(parser, head, known.bytes_read)  # W3C headers before the resume point
            summary = FileSummary(path, name, "continued" if known else "new")
            self._read(stream, compressed, path, head, known, parser, summary)
        finally:
            stream.close()
        if known is not None and summary.lines == 0:
            summary.state = "already read"
        return summary

    def _read(self, stream: BinaryIO, compressed: bool, path: Path, head: bytes,
              known: traffic.FileProgress | None, parser: LineParser, summary: FileSummary) -> None:
        counts = _Counts()
        offset = known.bytes_read if known else 0
        line_number = known.lines_read if known else 0
        malformed_before = known.malformed if known else 0
        pending = 0
        size = path.stat().st_size
        for block_size, lines, candidates in self._scanned(stream, compressed, summary.format, path, offset, size):
            for index, raw in candidates:
                try:
                    hit = parser.parse(raw.decode("utf-8", "replace").rstrip("\r"))
                except MalformedLine as exc:
                    summary.malformed += 1
                    if len(summary.samples) < SAMPLES_KEPT:
                        summary.samples.append(f"line {line_number + index + 1}: {exc}")
                    continue
                if hit is not None:
                    self._count(hit, counts, summary)
            line_number += lines
            summary.lines += lines
            pending += lines
            offset += block_size
            if pending >= FLUSH_LINES:
                known = self._flush(counts, known, head, path, summary.format, offset, line_number,
                                    malformed_before + summary.malformed)
                pending = 0
                self.progress(path, _position(stream, compressed, offset), size)
        if pending or known is None:
            self._flush(counts, known, head, path, summary.format, offset, line_number,
                        malformed_before + summary.malformed)

    def _analytics_export(self, path: Path, head: bytes, known: traffic.FileProgress | None) -> FileSummary:
        """A GA4 export (a finished report, small): its AI sessions per day, source view, source and landing
        page. A row is an AI source's when its source is one (chatgpt.com, perplexity ...) or GA4's channel
        says "AI Assistant" (then the source as GA4 names it)."""
        summary = FileSummary(path, "ga4", "already read" if known else "new")
        if known is not None:
            return summary
        stream, _ = _open(path)
        try:
            data = stream.read()
        finally:
            stream.close()
        try:
            rows = read_ga4_csv(data.decode("utf-8-sig", "replace").splitlines())
        except Ga4FormatError as exc:
            raise UsageError(f"{path}: {exc}") from None
        sessions: dict[tuple, list[int]] = defaultdict(lambda: [0])
        for row in rows:
            source = self.classifier.source_id(row.source) or (
                row.source.lower() if row.channel.lower() == AI_CHANNEL and row.source else None)
            if source is None or not row.sessions:
                continue
            if row.day is None:
                raise UsageError(f"{path}: the export has no Date column; add the Date dimension to the GA4 "
                                 "report, so that sessions can be counted per day")
            sessions[(row.day, row.source_view, source, row.landing_page.partition("?")[0] or "/")][0] += row.sessions
            summary.sessions += row.sessions
        with self.db.begin() as connection:
            traffic.add_counts(connection, AnalyticsSessionDay, self.project_id, sessions)
            traffic.save_progress(connection, self.project_id, None, head, str(path), "ga4", len(data),
                                  data.count(NEWLINE), 0, self.clock())
        summary.lines = len(rows)
        return summary

    def _scanned(self, stream: BinaryIO, compressed: bool, format_name: str, path: Path, offset: int,
                 size: int) -> Iterator[tuple[int, int, Candidates]]:
        """Each block of whole lines from `offset` on, as (its size, its lines, the lines the parser must
        read): for the text formats the fast scan's candidates (`monitor.traffic.scan`), in worker processes
        on every core for a big file; for the other formats every line."""
        pattern = PATTERNS.get(format_name)
        workers = min(MAX_WORKERS, os.cpu_count() or 1) if size >= PARALLEL_BYTES else 1
        if pattern is None or workers < 2:
            for block in _blocks(stream, final_line=compressed):
                found = every_line(block) if pattern is None else lines_to_read(block, pattern, self.sieve)
                yield len(block), line_count(block), found
            return
        context = multiprocessing.get_context("spawn")  # no fork of a process holding database connections
        with context.Pool(workers, initializer=start_worker,
                          initargs=(format_name, self.classifier_options)) as pool:
            if compressed:  # read here, in order, and handed to the workers block by block
                tasks = ((scan_in_worker, (block,)) for block in _blocks(stream, final_line=True))
            else:  # each worker reads its own byte range of the file: nothing to copy between processes
                tasks = ((scan_range_in_worker, (str(path), start, min(start + RANGE_BYTES, size)))
                         for start in range(offset, size, RANGE_BYTES))
            waiting: deque[Any] = deque()
            for function, arguments in tasks:  # a few blocks in flight at most: memory stays bounded
                waiting.append(pool.apply_async(function, arguments))
                if len(waiting) > workers:
                    yield waiting.popleft().get()
            while waiting:
                yield waiting.popleft().get()

    def _count(self, hit: Hit, counts: _Counts, summary: FileSummary) -> None:
        day = hit.time.date()
        bot = self.classifier.bot(hit.user_agent)
        if bot is not None:
            verification = self.classifier.verify(bot.token, hit.client)
            counts.crawlers[(day, bot.token, bot.purpose, verification, hit.path)][0] += 1
            summary.crawler_hits += 1
            return
        if self.sieve.is_other_bot(hit.user_agent) or not self.classifier.is_page_view(hit):
            return
        source = self.classifier.referral_source(hit.referrer, hit.query)
        if source is None:
            return
        cell = counts.referrals[(day, source, hit.path)]
        cell[0] += 1
        summary.pageviews += 1
        if self.visits.add(hit.client, source, hit.time):  # the page a visit began on is its landing page
            cell[1] += 1
            summary.visits += 1

    def _flush(self, counts: _Counts, known: traffic.FileProgress | None, head: bytes, path: Path,
               format_name: str, offset: int, lines: int, malformed: int) -> traffic.FileProgress:
        with self.db.begin() as connection:
            traffic.add_counts(connection, AiReferralDay, self.project_id, counts.referrals)
            traffic.add_counts(connection, AiCrawlerDay, self.project_id, counts.crawlers)
            progress = traffic.save_progress(connection, self.project_id, known, head, str(path), format_name,
                                             offset, lines, malformed, self.clock())
        counts.clear()
        return progress


def _blocks(stream: BinaryIO, final_line: bool) -> Iterator[bytes]:
    """The stream in blocks of whole lines. A last line without its newline is still being written, and is
    left for the next ingest, except where the file is complete (`final_line`: a compressed, rotated one)."""
    rest = b""
    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]
    if rest and final_line:
        yield rest


AI_CHANNEL = "ai assistant"  # GA4's default channel group for AI assistants
_GA4_HEADER = re.compile(rb"(?:Session|First user) (?:source|default channel group|primary channel group)")


def is_ga4_export(head: bytes) -> bool:
    """A GA4 CSV export: a header naming a session or first-user source (or channel), and Sessions."""
    return _GA4_HEADER.search(head) is not None and b"Sessions" in head


def _first_lines(head: bytes) -> list[str]:
    return head.decode("utf-8", "replace").splitlines()[:DETECT_LINES]


def _prime(parser: LineParser, head: bytes, offset: int) -> None:
    """Feed a resumed parser the header lines (W3C `#Fields:`) it would have read before `offset`."""
    for line in head[:offset].decode("utf-8", "replace").splitlines():
        if line.startswith("#"):
            try:
                parser.parse(line)
            except MalformedLine:
                pass


def _position(stream: BinaryIO, compressed: bool, offset: int) -> int:
    """How far into the file on disk reading is (the compressed position for gzip)."""
    if not compressed:
        return offset
    inner = getattr(stream, "fileobj", None)
    return inner.tell() if inner is not None else 0


def iter_summaries(summaries: Iterable[FileSummary]) -> Iterator[str]:
    """One line per file for the terminal, with the malformed samples under it."""
    for s in summaries:
        if s.state == "already read":
            yield f"{s.path}: already read ({s.format}), nothing new"
            continue
        if s.format == "ga4":
            yield f"{s.path}: {s.state}, ga4, {s.lines} rows, {s.sessions} sessions from AI sources (both views)"
            continue
        yield (f"{s.path}: {s.state}, {s.format}, {s.lines} lines, {s.malformed} malformed, "
               f"{s.pageviews} AI referral page views ({s.visits} visits), {s.crawler_hits} AI crawler hits")
        for sample in s.samples:
            yield f"  malformed {sample}"
