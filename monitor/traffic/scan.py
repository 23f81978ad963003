"""A fast first pass over Apache/nginx text logs (combined, common, vhost_combined): which lines of a block
could matter, and which are not lines of the format at all.

Most lines of a site's log are people and ordinary bots fetching pages and assets; they are neither AI
referrals nor AI crawler hits. One multi-line regex over a whole block (in C, no Python per line) splits the
well-formed lines into their user agent, referrer and request target, and the line parser
(`monitor.traffic.formats`) reads in full only the lines whose agent, referrer or target says AI (decided
once per distinct value: agents and referrers repeat). Lines the regex does not match (escaped quotes,
odd requests, garbage) fall between two matches: they go to the line parser too, which reads them or says
why they are malformed. The regex is no looser than the parser's in shape, so a line it accepts the parser
would accept too; only an impossible time (25:61:00) in a line that cannot matter goes uncounted as
malformed, since only the lines that matter have their time read.
"""

from __future__ import annotations

import re

from monitor.traffic.classify import Classifier

# the shapes of `monitor.traffic.formats` (its fast regexes), with no field able to run past a line's end
_TIME = rb"\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
_HEAD = rb"\S+ \S+ (?:\S+|\"[^\"\n]*\") \[" + _TIME + rb"\] \"[A-Z]+ ([^ \"\n]*) HTTP/\d(?:\.\d)?\" \d{3} \S+"
_REFERRER_AND_AGENT = rb" \"([^\"\n]*)\" \"([^\"\n]*)\""
_VHOST = rb"(?:[^\s:]+|\[[0-9a-fA-F:]+\])(?::\d+)? "

PATTERNS = {
    "combined": re.compile(rb"^" + _HEAD + _REFERRER_AND_AGENT + rb"[^\n]*$", re.M),
    "common": re.compile(rb"^" + _HEAD + rb"(?:" + _REFERRER_AND_AGENT + rb")?[ \t\r]*$", re.M),
    "vhost_combined": re.compile(rb"^" + _VHOST + _HEAD + rb"(?:" + _REFERRER_AND_AGENT + rb")?[^\n]*$", re.M),
}
_CACHE_LIMIT = 100_000
UNSEEN = object()  # an agent not classified yet


class Sieve:
    """Remembers, per distinct agent, referrer and target, whether it can make a line matter."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.agents: dict[bytes | None, bool | None] = {}  # True: an AI crawler; False: another bot; None: a person
        self.referrers: dict[bytes | None, bool] = {}
        self._other_bots: dict[str, bool] = {}

    def matters(self, target: bytes, referrer: bytes | None, agent: bytes | None) -> bool:
        """Whether a line with these fields could be an AI referral or an AI crawler hit (`common` lines
        have neither referrer nor agent: only their target's utm_source can say)."""
        if agent is not None:
            kind = self.agents.get(agent, UNSEEN)
            if kind is UNSEEN:
                kind = self._agent_kind(agent)
            if kind is not None:
                return kind  # an AI crawler always, another bot never
        if referrer:
            known = self.referrers.get(referrer)
            if known is None:
                known = self._remember(self.referrers, referrer, self.classifier.referral_source(
                    referrer.decode("utf-8", "replace"), "") is not None)
            if known:
                return True
        return b"utm_source=" in target and self.classifier.referral_source(
            "", target.partition(b"?")[2].decode("utf-8", "replace")) is not None

    def is_other_bot(self, agent: str) -> bool:
        """`Classifier.is_other_bot`, remembered per agent (its regex is slow and agents repeat)."""
        known = self._other_bots.get(agent)
        if known is None:
            known = self._remember(self._other_bots, agent, self.classifier.is_other_bot(agent))
        return known

    def _agent_kind(self, agent: bytes) -> bool | None:
        text = agent.decode("utf-8", "replace")
        kind = True if self.classifier.bot(text) is not None else (
            False if self.classifier.is_other_bot(text) else None)
        return self._remember(self.agents, agent, kind)

    @staticmethod
    def _remember(cache: dict, key, value):  # type: ignore[no-untyped-def]
        if len(cache) >= _CACHE_LIMIT:  # referrers with session ids are endless: keep memory bounded
            cache.clear()
        cache[key] = value
        return value


Candidates = list[tuple[int, bytes]]  # (the line's index in its block, the line without its newline)


def lines_to_read(block: bytes, pattern: re.Pattern[bytes], sieve: Sieve) -> Candidates:
    """The lines of `block` (whole lines, each ending in a newline) the line parser must read: the matched
    lines that could matter and every line the pattern did not match, in order, with their index."""
    found: Candidates = []
    position = index = 0
    agents, referrers, matters = sieve.agents, sieve.referrers, sieve.matters
    for match in pattern.finditer(block):  # the loop every line goes through: kept to dict lookups
        start = match.start()
        if start > position:
            index = _lines_between(block, position, start, index, found)
        position = match.end() + 1  # past the newline
        target, referrer, agent = match.groups()
        kind = agents.get(agent, UNSEEN)
        if kind is not False and (  # not another bot
                kind is True or referrers.get(referrer) is True or b"utm_source=" in target
                or ((kind is UNSEEN or (referrer and referrer not in referrers))  # a value not seen before
                    and matters(target, referrer, agent))):
            found.append((index, block[start:position - 1]))
        index += 1
    if position < len(block):
        _lines_between(block, position, len(block), index, found)
    return found


def every_line(block: bytes) -> Candidates:
    found: Candidates = []
    _lines_between(block, 0, len(block), 0, found)
    return found


def _lines_between(block: bytes, start: int, end: int, index: int, found: Candidates) -> int:
    while start < end:
        newline = block.find(b"\n", start, end)
        stop = end if newline < 0 else newline
        found.append((index, block[start:stop]))
        index += 1
        start = stop + 1
    return index


# --- in worker processes: the scan of big files on every core -------------------------------------------

_worker: tuple[re.Pattern[bytes], Sieve] | None = None


def start_worker(format_name: str, classifier_options: dict) -> None:
    """A worker's initializer: its own classifier (the lists are loaded once per process) and pattern."""
    global _worker
    _worker = (PATTERNS[format_name], Sieve(Classifier(**classifier_options)))


def scan_in_worker(block: bytes) -> tuple[int, int, Candidates]:
    """(the block's size, its lines, the lines to read) in a worker started by `start_worker`."""
    assert _worker is not None, "start_worker first"
    pattern, sieve = _worker
    return len(block), line_count(block), lines_to_read(block, pattern, sieve)


def line_count(block: bytes) -> int:
    """Lines in a block: its newlines, and a last line without one (a finished, compressed file's)."""
    return block.count(b"\n") + (bool(block) and not block.endswith(b"\n"))


def scan_range_in_worker(path: str, start: int, end: int) -> tuple[int, int, Candidates]:
    """`scan_in_worker` on the lines of a plain file that start in [start, end): the line running across
    `start` belongs to the range before, the one running across `end` to this one, so consecutive ranges
    cover the file once, line by line. A last line without its newline is still being written: left out."""
    with open(path, "rb") as file:
        position = start
        if start > 0:
            file.seek(start - 1)
            position += len(file.readline()) - 1  # to the first line starting at or after `start`
        block = file.read(max(0, end - position))
        if block and not block.endswith(b"\n"):
            block += file.readline()
    if block and not block.endswith(b"\n"):
        block = block[:block.rfind(b"\n") + 1]
    return scan_in_worker(block)
