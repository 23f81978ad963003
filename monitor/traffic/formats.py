"""Access log formats: one named parser each, `make_parser(name, **options)` and `detect_format(lines)`.

    make_parser(format_name: str, **options) -> LineParser
        combined, common, vhost_combined   Apache/nginx text logs (vhost: '%v[:%p] ' before the line)
        nginx        log_format=<an nginx log_format string>
        iis, w3c, cloudfront               W3C extended logs with '#Fields:' headers (formats_w3c)
        alb, elb                           AWS load balancers (formats_aws)
        caddy, traefik, cloudflare, jsonl  JSON lines; jsonl takes fields={hit field: log key (dotted for
                                           nested keys)} and time_format ('auto', 'iso', 'epoch',
                                           'clf' or a strptime pattern) (formats_json)
    detect_format(first_lines: list[str]) -> str | None
    FORMATS: the names make_parser knows.

Options a format does not use are ignored (one config may name options for a detected format); an
unknown option name is an error. `LineParser.parse(line)` returns a `Hit`, None for a line that is not
data, or raises `MalformedLine(reason)`. The text parsers split `parse` into `quick_fields` (the regex
match; None: malformed) and `from_fields` (the `Hit`).

Speed: the text formats match one precompiled regex per line (a stricter, escape-aware one only when
the fast one fails) and convert times with `ClfTime` (no strptime).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.traffic.base import (
    ClfTime,
    Hit,
    LineParser,
    MalformedLine,
    epoch_time,
    iso_time,
    split_request,
    split_target,
)

__all__ = ["FORMATS", "Hit", "LineParser", "MalformedLine", "detect_format", "make_parser"]

_TIME = r"(\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})"
_FAST_Q = r'"([^"]*)"'  # a quoted field without escaped quotes: the common case, and fast
_SLOW_Q = r'"((?:[^"\\]|\\.)*)"'  # Apache writes \" inside quoted fields
_CLF_HEAD = r"(\S+) \S+ (?:\S+|\"[^\"]*\") \[" + _TIME + r"\] "
_VHOST = r"([^\s:]+|\[[0-9a-fA-F:]+\])(?::\d+)? "


def _clf_regex(quoted: str, vhost: bool, tail: str) -> re.Pattern[str]:
    head = _VHOST if vhost else ""
    return re.compile(head + _CLF_HEAD + quoted + r" (\d{3}) (\S+)" + tail)


# The fast shape splits an ordinary request line inside the regex (no Python-level split per line).
_FAST_REQUEST = r'"([A-Z]+) (/[^ "?]*)(?:\?([^ "]*))? HTTP/\d(?:\.\d)?"'


def _fast_regex(vhost: bool, tail: str) -> re.Pattern[str]:
    head = _VHOST if vhost else ""
    return re.compile(head + _CLF_HEAD + _FAST_REQUEST + r" (\d{3}) \S+" + tail)


class ClfParser(LineParser):
    """combined / common / vhost_combined. A combined parser also reads a plain common line (no referrer
    or user agent); a line cut inside its referrer or user agent is malformed ("truncated line").

    quick_fields -> ([host,] client, time, method, path, query, status, referrer, user_agent): an ordinary
    line is split by one fast regex; escaped quotes or an odd request line take a slower, exact regex."""

    def __init__(self, name: str, vhost: bool, combined: bool) -> None:
        self.name, self._vhost, self._combined = name, vhost, combined
        pair = " " + _FAST_Q + " " + _FAST_Q
        slow_pair = " " + _SLOW_Q + " " + _SLOW_Q
        self._fast = _fast_regex(vhost, pair if combined else "(?:" + pair + ")?").match
        self._slow = _clf_regex(_SLOW_Q, vhost, slow_pair if combined else "(?:" + slow_pair + ")?").match
        self._common = _clf_regex(_SLOW_Q, vhost, r"\s*$").match  # a combined parser meeting a common line
        self._time = ClfTime()

    def quick_fields(self, line: str) -> tuple | None:
        m = self._fast(line)
        if m is not None:
            return m.groups()
        m = self._slow(line)
        if m is None and self._combined:
            m = self._common(line)
        if m is None:
            return None
        g = m.groups()  # ([host,] client, time, request, status, bytes[, referrer, agent])
        i = 1 if self._vhost else 0
        method, path, query = split_request(g[i + 2])
        return g[:i + 2] + (method, path, query, g[i + 3]) + (g[i + 5:] or (None, None))

    def from_fields(self, g: tuple) -> Hit:
        if self._vhost:
            host, client, text, method, path, query, status, referrer, agent = g
        else:
            client, text, method, path, query, status, referrer, agent = g
            host = ""
        clock = self._time
        time = clock._last if text == clock._last_text else clock(text)  # most lines share their second
        return Hit(time, client, method, path, query or "", int(status),
                   "" if referrer is None or referrer == "-" else referrer,
                   "" if agent is None or agent == "-" else agent, host)

    def parse(self, line: str) -> Hit | None:
        g = self.quick_fields(line)
        if g is None:
            if not line.strip():
                return None
            raise MalformedLine(diagnose(line, self.name, 6 if self._combined else 2))
        return self.from_fields(g)


_LOOSE_TIME = re.compile(r"\[([^\]]*)\]")
_LOOSE_STATUS = re.compile(r'\] "(?:[^"\\]|\\.)*" (\S+)')


def diagnose(line: str, name: str, quotes: int = 2) -> str:
    """A short reason for a text line that did not match its format."""
    if not line.strip():
        return "empty line"
    if "\ufffd" in line or any(ord(c) < 32 and c != "\t" for c in line):
        return "binary garbage"
    time = _LOOSE_TIME.search(line)
    if time is not None:
        try:
            ClfTime()(time.group(1))
        except MalformedLine:
            return "bad date"
        status = _LOOSE_STATUS.search(line)
        if status is not None and not re.fullmatch(r"\d{3}", status.group(1)):
            return "bad status"
        if line.count('"') % 2 or status is None or line.count('"') < quotes:
            return "truncated line"
    return f"not a {name} line"


# --- nginx log_format ------------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_CLIENT_VARS = ("remote_addr", "realip_remote_addr", "http_x_real_ip", "http_x_forwarded_for")
_HOST_VARS = ("host", "http_host", "server_name")
_SPECIAL = {"time_local": _TIME, "status": r"(\d{3})", "msec": r"(\d+(?:\.\d+)?)"}


class NginxParser(LineParser):
    """A custom nginx `log_format` string compiled into one regex, e.g.
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
    "$http_user_agent"'. Quoted variables read to the closing quote, unquoted ones to the next space;
    text after the last variable is allowed (log formats grow at the end)."""

    name = "nginx"

    def __init__(self, log_format: str) -> None:
        if not isinstance(log_format, str) or "$" not in log_format:
            raise ValueError("nginx format needs log_format, an nginx log_format string with $variables")
        fast, slow, names = [], [], []
        pos = 0
        for m in _VAR.finditer(log_format):
            literal = log_format[pos:m.start()]
            fast.append(re.escape(literal))
            slow.append(re.escape(literal))
            quoted = literal.endswith('"') and log_format[m.end():m.end() + 1] == '"'
            var = m.group(1)
            if var in _SPECIAL:
                fast.append(_SPECIAL[var])
                slow.append(_SPECIAL[var])
            elif quoted:
                fast.append(r'([^"]*)')
                slow.append(r'((?:[^"\\]|\\.)*)')
            else:
                fast.append(r"(\S*)")
                slow.append(r"(\S*)")
            names.append(var)
            pos = m.end()
        fast.append(re.escape(log_format[pos:]))
        slow.append(re.escape(log_format[pos:]))
        self._fast = re.compile("".join(fast)).match
        self._slow = re.compile("".join(slow)).match
        index = {var: i for i, var in reversed(list(enumerate(names)))}  # the first occurrence wins
        self._client = next((index[v] for v in _CLIENT_VARS if v in index), None)
        self._host = next((index[v] for v in _HOST_VARS if v in index), None)
        self._request = index.get("request")
        self._method = index.get("request_method")
        self._uri = index.get("request_uri", index.get("uri"))
        self._args = index.get("args", index.get("query_string"))
        self._status = index.get("status")
        self._referrer = index.get("http_referer")
        self._agent = index.get("http_user_agent")
        self._ctype = index.get("sent_http_content_type")
        self._time_index, self._time_kind = next(
            ((index[v], v) for v in ("time_local", "time_iso8601", "msec") if v in index), (None, ""))
        if self._time_index is None or self._status is None or (self._request is None and self._uri is None):
            raise ValueError("nginx log_format needs a time ($time_local, $time_iso8601 or $msec), $status "
                             "and $request (or $request_uri / $uri)")
        self._clf_time = ClfTime()
        self._iso_cache: tuple[str, object] = ("", None)

    def quick_fields(self, line: str) -> tuple | None:
        m = self._fast(line) or self._slow(line)
        return None if m is None else m.groups()

    def _time(self, text: str):  # type: ignore[no-untyped-def]
        if self._time_kind == "time_local":
            return self._clf_time(text)
        if self._time_kind == "msec":
            return epoch_time(float(text))
        if self._iso_cache[0] != text:
            self._iso_cache = (text, iso_time(text))
        return self._iso_cache[1]

    def from_fields(self, g: tuple) -> Hit:
        def get(i: int | None) -> str:
            return "" if i is None or g[i] == "-" else g[i]

        if self._request is not None:
            method, path, query = split_request(g[self._request])
        else:
            method = get(self._method)
            path, query = split_target(g[self._uri])
            if self._args is not None and not query:
                query = get(self._args)
        return Hit(self._time(g[self._time_index]), get(self._client), method, path, query,
                   int(g[self._status]), get(self._referrer), get(self._agent), get(self._host).split(":")[0],
                   get(self._ctype))

    def parse(self, line: str) -> Hit | None:
        g = self.quick_fields(line)
        if g is None:
            if not line.strip():
                return None
            raise MalformedLine(diagnose(line, "nginx log_format"))
        return self.from_fields(g)


# --- registry ----------------------------------------------------------------------------------------------

_OPTIONS = {"log_format", "fields", "time_format"}


def _registry() -> dict[str, Callable[..., LineParser]]:
    from monitor.traffic import (  # they import base, not this module
        formats_aws,
        formats_json,
        formats_w3c,
    )

    return {
        "combined": lambda **o: ClfParser("combined", vhost=False, combined=True),
        "common": lambda **o: ClfParser("common", vhost=False, combined=False),
        "vhost_combined": lambda **o: ClfParser("vhost_combined", vhost=True, combined=False),
        "nginx": lambda **o: NginxParser(o.get("log_format")),  # type: ignore[arg-type]
        "iis": lambda **o: formats_w3c.W3cParser("iis"),
        "w3c": lambda **o: formats_w3c.W3cParser("w3c"),
        "cloudfront": lambda **o: formats_w3c.W3cParser("cloudfront"),
        "alb": lambda **o: formats_aws.AlbParser(),
        "elb": lambda **o: formats_aws.ElbParser(),
        "caddy": lambda **o: formats_json.CaddyParser(),
        "traefik": lambda **o: formats_json.TraefikParser(),
        "cloudflare": lambda **o: formats_json.CloudflareParser(),
        "jsonl": lambda **o: formats_json.JsonLinesParser(o.get("fields"), o.get("time_format", "auto")),
    }


FORMATS = ("combined", "common", "vhost_combined", "nginx", "iis", "w3c", "cloudfront", "alb", "elb", "caddy",
           "traefik", "cloudflare", "jsonl")


def make_parser(format_name: str, **options: object) -> LineParser:
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ValueError(f"unknown log format option(s): {', '.join(sorted(unknown))}")
    factory = _registry().get(format_name)
    if factory is None:
        raise ValueError(f"unknown log format {format_name!r}; known: {', '.join(FORMATS)}")
    return factory(**options)


# --- detection -----------------------------------------------------------------------------------------------

_COMBINED = _clf_regex(_SLOW_Q, False, " " + _SLOW_Q + " " + _SLOW_Q)
_COMMON = _clf_regex(_SLOW_Q, False, r"\s*$")
_VHOST_ANY = _clf_regex(_SLOW_Q, True, "")
_ALB = re.compile(r"(?:https?|h2|grpcs?|wss?) \d{4}-\d\d-\d\dT\S+ \S+ \S+:\d+ ")
_ELB = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \S+ \S+:\d+ ")


def _detect_json(keys: set[str]) -> str:
    if {"EdgeStartTimestamp", "ClientRequestHost", "ClientRequestURI", "EdgeResponseStatus"} & keys:
        return "cloudflare"
    if "request" in keys and ("resp_headers" in keys or "logger" in keys):
        return "caddy"
    if {"RequestPath", "DownstreamStatus", "ClientHost", "StartUTC"} & keys:
        return "traefik"
    return "jsonl"


def detect_format(first_lines: list[str]) -> str | None:
    """Guess a file's format from its first lines: W3C headers, JSON keys, then a vote of the text regexes
    (combined beats common when both match; vhost needs one more field before the '[')."""
    import json

    lines = [line.rstrip("\r\n") for line in first_lines if line.strip()]
    for line in lines:
        if line.startswith("#Fields:"):
            fields = line.lower()
            if "x-edge-location" in fields:
                return "cloudfront"
            iis = any(line.startswith("#Software: Microsoft Internet Information") for line in lines)
            return "iis" if iis or "s-sitename" in fields else "w3c"
    votes: dict[str, int] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        found: str | None = None
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                found = _detect_json(set(record))
        elif _ALB.match(line):
            found = "alb"
        elif _ELB.match(line):
            found = "elb"
        elif _COMBINED.match(line):
            found = "combined"
        elif _COMMON.match(line):
            found = "common"
        elif _VHOST_ANY.match(line):
            found = "vhost_combined"
        if found:
            votes[found] = votes.get(found, 0) + 1
    if not votes:
        return None
    if votes.get("combined") and votes.get("common"):  # a combined log can hold a few common lines
        votes["combined"] += votes.pop("common")
    return max(votes, key=lambda name: votes[name])

