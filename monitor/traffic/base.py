"""What every log format parser shares: the `Hit` a data line becomes, `MalformedLine`, the `LineParser`
base class and the time conversions (all results timezone-aware, in UTC).

    Hit(time, client, method, path, query, status, referrer, user_agent, host='', content_type='')

A `LineParser` reads one file: `parse(line) -> Hit | None` (None for a header or comment line, or a
line the format documents as carrying no HTTP request), `MalformedLine(reason)` for a line it cannot
read. (Reading only the lines that can matter is `monitor.traffic.scan`'s job, before the parser.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"), 1)}


@dataclass(slots=True)
class Hit:
    time: datetime  # timezone-aware, UTC
    client: str  # the address as written (port dropped where the format glues it on)
    method: str
    path: str  # without the query string
    query: str  # raw query string, '' if none
    status: int
    referrer: str  # '' when '-' or absent
    user_agent: str
    host: str = ""  # '' if unknown
    content_type: str = ""  # '' if the format does not log it


class MalformedLine(ValueError):
    """A line the parser cannot read; the message is a short reason ("bad status", "truncated line")."""


class LineParser:
    """One parser per file (W3C formats learn their field list from the file's `#Fields:` line)."""

    name = "?"

    def parse(self, line: str) -> Hit | None:
        raise NotImplementedError


def split_target(target: str) -> tuple[str, str]:
    """'/a/b?x=1' -> ('/a/b', 'x=1'); an absolute URL keeps only its path."""
    if target.startswith(("http://", "https://")):
        slash = target.find("/", target.find("//") + 2)
        target = target[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    return path, query


def split_request(request: str) -> tuple[str, str, str]:
    """'GET /a?b HTTP/1.1' -> ('GET', '/a', 'b'); a request that is not one ('-', TLS bytes) -> ('', '', '')."""
    parts = request.split(" ")
    if len(parts) >= 3 and parts[-1].startswith("HTTP/"):
        target = " ".join(parts[1:-1])
    elif len(parts) == 2 and parts[1][:1] == "/":  # HTTP/0.9
        target = parts[1]
    else:
        return "", "", ""
    path, query = split_target(target)
    return parts[0], path, query


def dash(value: str) -> str:
    return "" if value == "-" else value


class ClfTime:
    """'10/Oct/2000:13:55:36 -0700' -> datetime in UTC, without strptime: the day and zone part is
    converted once and cached; consecutive lines of the same second reuse the last result."""

    __slots__ = ("_days", "_last", "_last_text")

    def __init__(self) -> None:
        self._days: dict[str, int] = {}
        self._last_text = ""
        self._last = _EPOCH

    def __call__(self, text: str) -> datetime:
        if text == self._last_text:
            return self._last
        key = text[:11] + text[20:]  # '10/Oct/2000' + ' -0700'
        base = self._days.get(key)
        if base is None:
            base = self._day(text)
            if len(self._days) > 10_000:  # a long log spans few days: keep the cache bounded anyway
                self._days.clear()
            self._days[key] = base
        try:
            hour, minute, second = int(text[12:14]), int(text[15:17]), int(text[18:20])
        except ValueError:
            raise MalformedLine("bad date") from None
        if hour > 23 or minute > 59 or second > 60 or text[14] != ":" or text[17] != ":":
            raise MalformedLine("bad date")
        value = _EPOCH + timedelta(seconds=base + hour * 3600 + minute * 60 + second)
        self._last_text, self._last = text, value
        return value

    @staticmethod
    def _day(text: str) -> int:
        """Seconds from the epoch to local midnight of that day, expressed in UTC."""
        try:
            day, month, year = int(text[0:2]), _MONTHS[text[3:6]], int(text[7:11])
            zone = text[21:26]
            sign = -1 if zone[0] == "-" else 1
            if zone[0] not in "+-" or len(zone) != 5 or text[2] != "/" or text[6] != "/" or len(text) != 26:
                raise ValueError
            offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
            midnight = datetime(year, month, day, tzinfo=UTC)
        except (ValueError, KeyError, IndexError):
            raise MalformedLine("bad date") from None
        return int((midnight - _EPOCH).total_seconds()) - offset


_FRACTION = re.compile(r"(\.\d{6})\d+")


def iso_time(text: str) -> datetime:
    """ISO 8601 / RFC 3339 ('2023-08-11T11:39:21.773360139Z', '2013-10-10T16:52:00+02:00'); no zone = UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:  # nanoseconds (Traefik, Cloudflare) are more than fromisoformat reads
            value = datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
        except ValueError:
            raise MalformedLine("bad date") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch_time(number: float) -> datetime:
    """Unix time in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude)."""
    value = float(number)
    if value > 1e17:
        value /= 1e9
    elif value > 1e14:
        value /= 1e6
    elif value > 1e11:
        value /= 1e3
    try:
        return _EPOCH + timedelta(seconds=value)
    except (OverflowError, ValueError):
        raise MalformedLine("bad date") from None


def any_time(value: object) -> datetime:
    """A JSON time value: a number (unix time) or a string (ISO 8601, digits, or an Apache time)."""
    if isinstance(value, bool) or value is None:
        raise MalformedLine("bad date")
    if isinstance(value, (int, float)):
        return epoch_time(value)
    if not isinstance(value, str):
        raise MalformedLine("bad date")
    text = value.strip().strip("[]")
    if text.replace(".", "", 1).isdigit():
        return epoch_time(float(text))
    if len(text) == 26 and text[2] == "/":
        return ClfTime()(text)
    return iso_time(text)


def status_of(value: object) -> int:
    try:
        status = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise MalformedLine("bad status") from None
    if not 100 <= status <= 999:
        raise MalformedLine("bad status")
    return status
