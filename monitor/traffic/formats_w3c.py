"""W3C extended logs: IIS, CloudFront standard logs and any other W3C log (Incapsula ...).

The field list comes from the file's `#Fields:` line, so a parser is stateful: feed it the file's lines in
order (`parse` of a `#` line returns None and, for `#Fields:`, remembers the fields). A data line before any
`#Fields:` uses the documented default list (IIS, CloudFront) or is malformed (generic W3C).

- IIS separates fields by spaces and writes spaces inside values as '+'; times are UTC.
- CloudFront separates by tabs, percent-encodes the user agent twice ('%2520' for a space) and logs the
  distribution's own domain in cs(Host): the site's host is x-host-header. Status 000 (the viewer left
  before a response) is not a request: None.
- Generic W3C (Incapsula) may quote every value; an empty status (no response) is not a request: None.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import unquote

from monitor.traffic.base import (
    UTC,
    Hit,
    LineParser,
    MalformedLine,
    split_target,
    status_of,
)

_IIS_DEFAULT = """
    date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)
    cs(Referer) sc-status sc-substatus sc-win32-status time-taken""".split()
_CLOUDFRONT_DEFAULT = """
    date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer)
    cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header
    cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher
    x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port
    time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start
    sc-range-end""".split()
_QUOTED_TOKENS = re.compile(r'"([^"]*)"|(\S+)')
_ALIASES = {
    "date": ("date",), "time": ("time",), "client": ("c-ip",), "method": ("cs-method",),
    "stem": ("cs-uri-stem",), "uri": ("cs-uri",), "query": ("cs-uri-query",), "status": ("sc-status",),
    "referrer": ("cs(referer)", "cs(referrer)"), "agent": ("cs(user-agent)",),
    "host": ("x-host-header", "cs-host", "cs(host)"), "ctype": ("sc-content-type", "sc(content-type)"),
}


class W3cParser(LineParser):
    def __init__(self, kind: str) -> None:  # kind: iis | cloudfront | w3c
        self.name = kind
        self._fields: list[str] | None = None
        if kind == "iis":
            self._set_fields(_IIS_DEFAULT)
        elif kind == "cloudfront":
            self._set_fields(_CLOUDFRONT_DEFAULT)
        self._days: dict[str, datetime] = {}

    def _set_fields(self, names: list[str]) -> None:
        lowered = [n.lower() for n in names]
        self._fields = lowered
        self._at = {key: next((lowered.index(a) for a in aliases if a in lowered), None)
                    for key, aliases in _ALIASES.items()}
        if self._at["date"] is None or self._at["time"] is None or self._at["status"] is None or (
                self._at["stem"] is None and self._at["uri"] is None):
            self._fields = None  # a header this parser cannot use: every data line is then malformed
            self._missing = "the #Fields line lacks date, time, sc-status or cs-uri-stem"

    def _split(self, line: str) -> list[str]:
        if self.name == "cloudfront":
            return line.split("\t")
        if '"' in line:
            return [bare or quoted for quoted, bare in _QUOTED_TOKENS.findall(line)]
        return line.split()

    def _time(self, day: str, clock: str) -> datetime:
        base = self._days.get(day)
        if base is None:
            try:
                base = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)  # once per day, not per line
            except ValueError:
                raise MalformedLine("bad date") from None
            self._days[day] = base
        try:
            hour, minute, second = int(clock[0:2]), int(clock[3:5]), float(clock[6:] or 0)
        except ValueError:
            raise MalformedLine("bad date") from None
        if clock[2:3] != ":" or hour > 23 or minute > 59 or second >= 61:
            raise MalformedLine("bad date")
        return base + timedelta(hours=hour, minutes=minute, seconds=second)

    def parse(self, line: str) -> Hit | None:
        line = line.rstrip("\r\n")
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self._set_fields(line[len("#Fields:"):].split())
            return None
        if not line.strip():
            return None
        if self._fields is None:
            raise MalformedLine(getattr(self, "_missing", "data before any #Fields header"))
        values = self._split(line)
        if len(values) < len(self._fields):
            raise MalformedLine(f"truncated line ({len(values)} of {len(self._fields)} fields)")
        at = self._at

        def get(key: str) -> str:
            i = at[key]
            value = "" if i is None else values[i]
            return "" if value == "-" else value

        raw_status = get("status")
        if raw_status in ("", "000"):
            return None  # no response was sent: a connection, not a request
        status = status_of(raw_status)
        time = self._time(get("date"), get("time"))
        host = get("host")
        stem = get("stem")
        if stem:
            path, query = stem, get("query")
        else:  # cs-uri: '/a?b', 'http://h/a?b' or (Incapsula) 'www.example.com/page.php'
            uri = get("uri")
            if uri and not uri.startswith("/") and "://" not in uri:
                slash = uri.find("/")
                host = host or (uri[:slash] if slash > 0 else uri)
                uri = uri[slash:] if slash > 0 else "/"
            path, query = split_target(uri)
            query = query or get("query")
        agent, referrer = get("agent"), get("referrer")
        if self.name == "cloudfront":
            agent = unquote(unquote(agent))
            referrer = unquote(referrer) if "%" in referrer else referrer
        elif "+" in agent and " " not in agent:  # IIS writes spaces as '+'
            agent = agent.replace("+", " ")
        return Hit(time, get("client"), get("method"), path, query, status, referrer, agent, host.lower(),
                   get("ctype"))

