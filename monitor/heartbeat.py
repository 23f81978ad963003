"""The daemon's heartbeat: after every run, a POST of the run's summary to the URL in the variable that
`health.heartbeat_url_env` names. A monitor (healthchecks.io, Uptime Kuma, any webhook) then notices a
daemon that stopped running, and sees runs that failed. The URL holds a token: it is never logged, only
its host."""

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
    host = urlsplit(url).hostname or "?"
    try:
        response = httpx.post(url, json=summary, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        reason = f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else type(exc).__name__
        log.warning("heartbeat to %s failed: %s (the daemon goes on)", host, reason)
        return False
    return True
