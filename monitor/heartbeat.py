"""The daemon's heartbeat: after every run, the run's summary sent to the URL in the variable that
`health.heartbeat_url_env` names: POSTed as JSON to an http(s) URL (healthchecks.io, Uptime Kuma, any
webhook), or as a message through Apprise for any other scheme (slack://, tgram://, ...). A monitor then
notices a daemon that stopped running, and sees runs that failed. The URL holds a token: it is never
logged, only its host."""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor.config import Config

log = logging.getLogger("citewatch.heartbeat")
TIMEOUT_S = 10.0


def heartbeat_url(config: Config) -> str | None:
    variable = config.health.heartbeat_url_env
    return (os.environ.get(variable) or None) if variable else None


def send(url: str, summary: dict[str, Any], timeout: float = TIMEOUT_S) -> bool:
    """POST `summary` as JSON to `url`; False (and a warning naming only the host) where it fails."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return _send_apprise(url, summary, f"{parts.scheme}://")  # its host may be the token: not named
    host = parts.hostname or "?"
    try:
        response = httpx.post(url, json=summary, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        reason = f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else type(exc).__name__
        log.warning("heartbeat to %s failed: %s (the daemon goes on)", host, reason)
        return False
    return True


def _send_apprise(url: str, summary: dict[str, Any], host: str) -> bool:
    from monitor.alerts.deliver import send  # the alert channels' sender: Apprise, its log lines masked

    title = f"citewatch {summary.get('project', '')}: run {summary.get('run', '?')} {summary.get('status', '')}"
    body = ", ".join(f"{key} {value}" for key, value in summary.items() if key not in ("service", "project"))
    error = send(url, title, body, attempts=1)
    if error is not None:
        log.warning("heartbeat to %s failed: %s (the daemon goes on)", host, error)
        return False
    return True
