"""Which hits matter: AI referrals, AI crawlers (verified against published IP ranges or not) and visits.

    Classifier(referrers=None, bots=None, bot_ranges=None, page_extensions=())
        referrers: extra {referrer host or utm_source value: source id} (a host covers its subdomains)
        bots: extra {user-agent token: purpose} or {token: {"purpose": ..., "operator": ...}}
        bot_ranges: a bot_ranges.json-shaped dict or file path; its tokens replace the packaged ranges
        page_extensions: extra path extensions that are pages (e.g. ["pdf"])
      .referral_source(referrer: str, query: str) -> str | None      source id (chatgpt, perplexity, ...)
      .source_id(value: str) -> str | None     a bare host or utm value (GA4 "chatgpt.com", "perplexity")
      .bot(user_agent: str) -> BotMatch | None                       BotMatch(token, operator, purpose)
      .verify(token: str, client_ip: str) -> 'verified' | 'spoofed' | 'unverifiable'
      .is_page_view(hit) -> bool          GET, 2xx/3xx, HTML by content type when logged, else by extension
      .is_other_bot(user_agent: str) -> bool     generic bots and HTTP libraries (and an empty agent)
      .sources: {id: name}; .bots: {token: BotMatch}
    VisitCounter(gap=30 min).add(client, source, time) -> bool  True when the page view starts a new visit
    load_bot_ranges(path) -> list[str]   CIDRs from an operator's file (OpenAI/Google/Perplexity "prefixes"
                                         JSON, our bot_ranges.json shape with token=..., or plain text)
    PURPOSES = ('training', 'search', 'user_fetch', 'agent', 'other')

Data files (monitor/traffic/data/, each naming its sources and date): ai_referrers.yaml, ai_bots.yaml,
bot_ranges.json. Nothing is fetched at run time.
"""

from __future__ import annotations

import ipaddress
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

import yaml

PURPOSES = ("training", "search", "user_fetch", "agent", "other")
VERIFIED, SPOOFED, UNVERIFIABLE = "verified", "spoofed", "unverifiable"
_CACHE_LIMIT = 50_000


class BotMatch(NamedTuple):
    token: str
    operator: str
    purpose: str


def _data(name: str) -> str:
    return resources.files("monitor.traffic").joinpath("data").joinpath(name).read_text(encoding="utf-8")


def trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation for many literal words, shared prefixes factored out (Python's re would
    otherwise try every alternative at every position); longer words win over their prefixes."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def referrer_host(referrer: str) -> str:
    """'https://www.perplexity.ai/search?q=x' -> 'www.perplexity.ai'; also 'android-app://com.x/',
    '//host/path' and a bare 'host/path' (Traefik logs some referrers without a scheme)."""
    text = referrer.strip()
    start = text.find("://")
    if start >= 0:
        text = text[start + 3:]
    elif text.startswith("//"):
        text = text[2:]
    end = len(text)
    for stop in "/?#":
        i = text.find(stop)
        if 0 <= i < end:
            end = i
    host = text[:end].rpartition("@")[2]
    if host.startswith("["):
        return ""
    return host.split(":")[0].lower().rstrip(".")


# --- published IP ranges -------------------------------------------------------------------------------------

class _Ranges:
    """Networks of one bot as sorted, merged integer intervals per IP version: a lookup is one bisect."""

    __slots__ = ("v4", "v6")

    def __init__(self, cidrs: Iterable[str]) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
            spans[net.version].append((int(net.network_address), int(net.broadcast_address)))
        self.v4 = self._merge(spans[4])
        self.v6 = self._merge(spans[6])

    @staticmethod
    def _merge(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(spans):
            if ends and start <= ends[-1] + 1:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return starts, ends

    def __contains__(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        starts, ends = self.v4 if address.version == 4 else self.v6
        number = int(address)
        i = bisect_right(starts, number) - 1
        return i >= 0 and number <= ends[i]

    def __bool__(self) -> bool:
        return bool(self.v4[0] or self.v6[0])


def load_bot_ranges(path: str | Path, token: str | None = None) -> list[str]:
    """The CIDRs in a downloaded ranges file: the operators' JSON ({"creationTime", "prefixes": [{"ipv4Prefix"}
    | {"ipv6Prefix"}]}: OpenAI gptbot.json/searchbot.json/chatgpt-user.json, Perplexity, Google goog.json/
    googlebot.json), a bot_ranges.json document (give `token`), or plain text (one CIDR or address a line,
    '#' comments). Every entry is validated; a bad one raises ValueError naming it."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    cidrs: list[str] = []
    if stripped.startswith("{"):
        doc = json.loads(text)
        if "prefixes" in doc:
            for entry in doc["prefixes"]:
                value = entry.get("ipv4Prefix") or entry.get("ipv6Prefix")
                if value:
                    cidrs.append(value)
        elif "ranges" in doc:
            if token is None:
                raise ValueError(f"{path}: a bot_ranges document holds several bots: name the token")
            cidrs = list(doc["ranges"].get(token, []))
        else:
            raise ValueError(f"{path}: no 'prefixes' list (the OpenAI/Google shape) and no 'ranges'")
    else:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                cidrs.append(line)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{path}: not an IP network: {cidr!r}") from None
    return cidrs


# --- the classifier --------------------------------------------------------------------------------------------

_ASSETS = frozenset("""
    css js mjs map png jpg jpeg gif svg ico webp avif bmp tif tiff woff woff2 ttf otf eot json xml
    rss atom txt csv pdf zip gz tgz bz2 xz 7z rar mp3 mp4 m4a m4v webm ogg ogv wav flac mov avi wmv
    mkv doc docx xls xlsx ppt pptx apk dmg exe msi iso wasm swf flv eps psd webmanifest yaml yml""".split())
_PAGES = frozenset("html htm xhtml shtml php asp aspx jsp jspx cfm cgi pl do action".split())
_OTHER_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrap|fetch|curl/|wget/|python-requests|python-urllib|python-httpx|httpx/|"
    r"aiohttp|go-http-client|java/|okhttp|libwww|lwp::|apache-httpclient|node-fetch|axios/|headless|phantomjs|"
    r"lighthouse|pingdom|uptime|monitor|preview|validator|checker|facebookexternalhit|embedly|feed|http_request|"
    r"wordpress/|guzzlehttp|ruby|^mozilla/5\.0$", re.IGNORECASE)


class Classifier:
    def __init__(self, referrers: Mapping[str, str] | None = None, bots: Mapping[str, Any] | None = None,
                 bot_ranges: Mapping[str, Any] | str | Path | None = None,
                 page_extensions: Iterable[str] = ()) -> None:
        self._load_referrers(referrers or {})
        self._load_bots(bots or {})
        self._load_ranges(bot_ranges)
        self._pages = _PAGES | {e.lower().lstrip(".") for e in page_extensions}
        self._assets = _ASSETS - self._pages
        self._bot_cache: dict[str, BotMatch | None] = {}
        self._verify_cache: dict[tuple[str, str], str] = {}

    # referrals
    def _load_referrers(self, extra: Mapping[str, str]) -> None:
        doc = yaml.safe_load(_data("ai_referrers.yaml"))
        self.sources: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        self._utm: dict[str, str] = {}
        for source_id, entry in doc["sources"].items():
            self.sources[source_id] = entry.get("name", source_id)
            for host in entry.get("hosts") or ():
                self._hosts[host.lower()] = source_id
            for value in entry.get("utm") or ():
                self._utm[value.lower()] = source_id
        for value, source_id in extra.items():
            key = value.lower().strip()
            self.sources.setdefault(source_id, source_id)
            self._utm[key] = source_id
            if "." in key:
                self._hosts[referrer_host(key) or key] = source_id

    def _host_source(self, host: str) -> str | None:
        while host:
            found = self._hosts.get(host)
            if found is not None:
                return found
            dot = host.find(".")
            if dot < 0:
                return None
            host = host[dot + 1:]
        return None

    def source_id(self, value: str) -> str | None:
        key = value.strip().lower()
        if not key:
            return None
        return self._utm.get(key) or self._host_source(referrer_host(key))

    def referral_source(self, referrer: str, query: str) -> str | None:
        if referrer:
            found = self._host_source(referrer_host(referrer))
            if found is not None:
                return found
        if query:
            at = query.lower().find("utm_source=")
            if at >= 0 and (at == 0 or query[at - 1] in "&;?"):
                value = query[at + 11:].split("&", 1)[0]
                return self.source_id(unquote_plus(value))
        return None

    # crawlers
    def _load_bots(self, extra: Mapping[str, Any]) -> None:
        doc = yaml.safe_load(_data("ai_bots.yaml"))
        self.bots: dict[str, BotMatch] = {}
        self._matchable: list[str] = []
        entries = dict(doc["bots"])
        for token, value in extra.items():
            entry = {"purpose": value} if isinstance(value, str) else dict(value)
            entry.setdefault("operator", "")
            entry["in_user_agent"] = True
            entries[token] = entry
        for token, entry in entries.items():
            purpose = entry.get("purpose", "other")
            if purpose not in PURPOSES:
                raise ValueError(f"bot {token!r}: purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
            self.bots[token] = BotMatch(token, entry.get("operator") or "unknown", purpose)
            if entry.get("in_user_agent", True):
                self._matchable.append(token)
        self._by_lower = {token.lower(): self.bots[token] for token in self._matchable}
        pattern = trie_pattern(sorted(self._by_lower))
        self._bot_search = re.compile(r"(?<![\w-])(" + pattern + r")(?![\w-])", re.IGNORECASE | re.ASCII).search

    def bot(self, user_agent: str) -> BotMatch | None:
        cache = self._bot_cache
        if user_agent in cache:
            return cache[user_agent]
        m = self._bot_search(user_agent)
        found = None if m is None else self._by_lower[m.group(1).lower()]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[user_agent] = found
        return found

    def _load_ranges(self, given: Mapping[str, Any] | str | Path | None) -> None:
        doc = json.loads(_data("bot_ranges.json"))
        ranges: dict[str, list[str]] = dict(doc["ranges"])
        if given is not None:
            extra = given if isinstance(given, Mapping) else json.loads(Path(given).read_text(encoding="utf-8"))
            ranges.update(extra.get("ranges", {}))
        self.ranges_generated = doc.get("generated", "")
        self._ranges = {token.lower(): _Ranges(cidrs) for token, cidrs in ranges.items() if cidrs}

    def verify(self, token: str, client_ip: str) -> str:
        ranges = self._ranges.get(token.lower())
        if ranges is None:
            return UNVERIFIABLE
        key = (token, client_ip)
        cached = self._verify_cache.get(key)
        if cached is not None:
            return cached
        text = client_ip.strip()
        if text.startswith("["):
            text = text[1:].split("]")[0]
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            return UNVERIFIABLE  # a host name or garbage: nothing to check against
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        result = VERIFIED if address in ranges else SPOOFED
        if len(self._verify_cache) >= _CACHE_LIMIT:
            self._verify_cache.clear()
        self._verify_cache[key] = result
        return result

    # pages and other bots
    def is_page_view(self, hit: Any) -> bool:
        if hit.method != "GET" or not 200 <= hit.status < 400:
            return False
        content_type = hit.content_type
        if content_type:
            content_type = content_type.lower()
            return content_type.startswith(("text/html", "application/xhtml"))
        path = hit.path
        last = path[path.rfind("/") + 1:]
        dot = last.rfind(".")
        if dot < 0:
            return True
        extension = last[dot + 1:].lower()
        if extension in self._pages:
            return True
        return extension not in self._assets  # '/v1.2', '/a.b-slug': dots in page names

    def is_other_bot(self, user_agent: str) -> bool:
        return not user_agent.strip() or _OTHER_BOT.search(user_agent) is not None


class VisitCounter:
    """Visits from AI referral page views: one client and source stay in one visit while less than `gap`
    (30 minutes) passes between their page views; a longer silence starts a new visit. Feed page views in
    about time order; memory stays bounded: a (client, source) idle longer than `gap` is dropped as the
    log's time advances (a line older than that, out of order, then starts a visit of its own)."""

    def __init__(self, gap: timedelta = timedelta(minutes=30)) -> None:
        self._gap = gap.total_seconds()
        self._last: dict[tuple[str, str], float] = {}
        self._now = float("-inf")
        self._next_sweep = float("-inf")
        self.pageviews = 0
        self.visits = 0

    def add(self, client: str, source: str, time: datetime) -> bool:
        stamp = time.timestamp()
        key = (client, source)
        last = self._last.get(key)
        self.pageviews += 1
        new = last is None or abs(stamp - last) >= self._gap
        if new:
            self.visits += 1
        self._last[key] = stamp if last is None or stamp > last else last
        if stamp > self._now:
            self._now = stamp
            if stamp >= self._next_sweep:
                self._sweep()
        return new

    def _sweep(self) -> None:
        horizon = self._now - self._gap
        self._last = {key: stamp for key, stamp in self._last.items() if stamp > horizon}
        self._next_sweep = self._now + self._gap / 6  # sweep every 5 minutes of log time

    def __len__(self) -> int:
        return len(self._last)
