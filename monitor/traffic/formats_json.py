"""JSON-lines access logs: Caddy, Traefik, Cloudflare Logpush and any JSON lines with mapped field names.

- caddy: `ts` (unix seconds, or a string), `request.{client_ip|remote_ip, method, host, uri, headers}`,
  `status`, `resp_headers.Content-Type`. Other Caddy log entries (a `logger` not `http.log.access*`): None.
- traefik: `ClientHost`, `RequestMethod`, `RequestPath` (with the query), `DownstreamStatus`,
  `request_Referer`, `request_User-Agent` (logged only when Traefik keeps those headers), `RequestHost`,
  `StartUTC`, `downstream_Content-Type`.
- cloudflare: `ClientIP`, `ClientRequestHost`, `ClientRequestMethod`, `ClientRequestURI` (or
  `ClientRequestPath`), `ClientRequestReferer`, `ClientRequestUserAgent`, `EdgeResponseStatus`,
  `EdgeResponseContentType`, `EdgeStartTimestamp` as RFC 3339, unix seconds, milliseconds or nanoseconds.
- jsonl: `fields` maps a Hit field (time, client, method, uri or path, query, status, referrer, user_agent,
  host, content_type) to the log's key, dotted for nested keys ('request.headers.User-Agent'); a Hit
  field not mapped is looked up under common names (ip, remote_addr, referer, http_user_agent ...).
  `time_format`: 'auto' (numbers are unix time, strings ISO 8601 or Apache), 'iso', 'epoch', 'clf' or a
  strptime pattern (no zone in it = UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from monitor.traffic.base import (
    UTC,
    ClfTime,
    Hit,
    LineParser,
    MalformedLine,
    any_time,
    epoch_time,
    iso_time,
    split_request,
    split_target,
    status_of,
)


def _load(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise MalformedLine("truncated line" if line.lstrip().startswith("{") else "not JSON") from None
    if not isinstance(record, dict):
        raise MalformedLine("not a JSON object")
    return record


def _text(value: object) -> str:
    if isinstance(value, list):  # Caddy logs every header as a list of values
        value = value[0] if value else ""
    if value is None or value == "-":
        return ""
    return str(value)


def _strip_port(host: str) -> str:
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _JsonParser(LineParser):
    def parse(self, line: str) -> Hit | None:
        if not line.strip():
            return None
        record = _load(line)
        try:
            return self._hit(record)
        except (KeyError, TypeError, AttributeError) as exc:
            raise MalformedLine(f"missing {exc}") from None

    def _hit(self, record: dict[str, Any]) -> Hit | None:
        raise NotImplementedError


class CaddyParser(_JsonParser):
    name = "caddy"

    def _hit(self, r: dict[str, Any]) -> Hit | None:
        logger = r.get("logger")
        if isinstance(logger, str) and not logger.startswith("http.log.access"):
            return None
        request = r["request"]
        headers = request.get("headers") or {}
        path, query = split_target(request["uri"])
        return Hit(any_time(r["ts"]), request.get("client_ip") or request.get("remote_ip", ""),
                   request.get("method", ""), path, query, status_of(r["status"]), _text(headers.get("Referer")),
                   _text(headers.get("User-Agent")), _strip_port(request.get("host", "")).lower(),
                   _text((r.get("resp_headers") or {}).get("Content-Type")))


class TraefikParser(_JsonParser):
    name = "traefik"

    def _hit(self, r: dict[str, Any]) -> Hit | None:
        path, query = split_target(r["RequestPath"])
        status = r.get("DownstreamStatus", r.get("OriginStatus"))
        time = r.get("StartUTC") or r.get("StartLocal") or r["time"]
        return Hit(any_time(time), _text(r.get("ClientHost")), _text(r.get("RequestMethod")), path, query,
                   status_of(status), _text(r.get("request_Referer")), _text(r.get("request_User-Agent")),
                   _strip_port(_text(r.get("RequestHost"))).lower(), _text(r.get("downstream_Content-Type")))


class CloudflareParser(_JsonParser):
    name = "cloudflare"

    def _hit(self, r: dict[str, Any]) -> Hit | None:
        uri = r.get("ClientRequestURI") or r["ClientRequestPath"]
        path, query = split_target(uri)
        return Hit(any_time(r["EdgeStartTimestamp"]), _text(r.get("ClientIP")), _text(r.get("ClientRequestMethod")),
                   path, query, status_of(r["EdgeResponseStatus"]), _text(r.get("ClientRequestReferer")),
                   _text(r.get("ClientRequestUserAgent")), _text(r.get("ClientRequestHost")).lower(),
                   _text(r.get("EdgeResponseContentType")))


_GUESSES = {
    "time": ("time", "timestamp", "ts", "@timestamp", "date", "datetime", "time_iso8601", "time_local", "msec"),
    "client": ("client", "ip", "remote_addr", "client_ip", "remote_ip", "clientip", "c-ip", "realip"),
    "method": ("method", "request_method", "verb"),
    "uri": ("uri", "request_uri", "url", "path", "request"),
    "query": ("query", "args", "query_string"),
    "status": ("status", "status_code", "response", "code"),
    "referrer": ("referrer", "referer", "http_referer", "http_referrer"),
    "user_agent": ("user_agent", "useragent", "agent", "http_user_agent", "ua"),
    "host": ("host", "http_host", "server_name", "vhost"),
    "content_type": ("content_type", "sent_http_content_type"),
}
_MAPPABLE = set(_GUESSES) | {"path"}


def _dig(record: dict[str, Any], dotted: str) -> Any:
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _time_reader(time_format: str) -> Callable[[Any], datetime]:
    if time_format == "auto":
        return any_time
    if time_format == "iso":
        return lambda v: iso_time(str(v))
    if time_format == "epoch":
        return lambda v: epoch_time(float(v))
    if time_format == "clf":
        clf = ClfTime()
        return lambda v: clf(str(v).strip("[]"))

    def custom(value: Any) -> datetime:
        try:
            parsed = datetime.strptime(str(value), time_format)
        except ValueError:
            raise MalformedLine("bad date") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return custom


class JsonLinesParser(_JsonParser):
    name = "jsonl"

    def __init__(self, fields: dict[str, str] | None = None, time_format: str = "auto") -> None:
        fields = dict(fields or {})
        unknown = set(fields) - _MAPPABLE
        if unknown:
            raise ValueError(f"jsonl fields: unknown key(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(_MAPPABLE))}")
        if "path" in fields and "uri" not in fields:
            fields["uri"] = fields.pop("path")
        self._fields = fields
        self._read_time = _time_reader(str(time_format))

    def _get(self, record: dict[str, Any], key: str) -> Any:
        if key in self._fields:
            return _dig(record, self._fields[key])
        for name in _GUESSES[key]:
            if name in record:
                return record[name]
        return None

    def _hit(self, r: dict[str, Any]) -> Hit | None:
        time, uri, status = self._get(r, "time"), self._get(r, "uri"), self._get(r, "status")
        for key, value in (("time", time), ("uri", uri), ("status", status)):
            if value is None:
                raise MalformedLine(f"missing {key}")
        uri = str(uri)
        method = _text(self._get(r, "method"))
        if " HTTP/" in uri:  # a whole request line
            method, path, query = split_request(uri)
        else:
            path, query = split_target(uri)
        query = query or _text(self._get(r, "query"))
        return Hit(self._read_time(time), _text(self._get(r, "client")), method, path, query, status_of(status),
                   _text(self._get(r, "referrer")), _text(self._get(r, "user_agent")),
                   _strip_port(_text(self._get(r, "host"))).lower(), _text(self._get(r, "content_type")))
