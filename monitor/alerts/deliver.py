"""Sending a message (an alert digest, the weekly report) to one channel through Apprise: tried a few times,
and a failure said without the channel's secrets (a token in a Slack or Telegram URL, filled from an
environment variable)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from citewatch.secrets import Secrets
from monitor.config import LOOPBACK_HOSTS, channel_url, channel_variables

log = logging.getLogger("citewatch.alerts")
# seconds between tries of one channel within a run; what is still undelivered after them waits for a later run
RETRY_WAITS = (2.0, 10.0)
_URL_PIECES = re.compile(r"[/:@?&=#,]+")
_VARIABLE_ONLY = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}(:\d+)?")


def channel_label(channel: str) -> str:
    """How a channel is named in logs, the database and `citewatch alerts`, never with a secret: its scheme,
    its host where that is a variable's name or this machine, and a short digest of the whole entry."""
    parts = urlsplit(channel)
    host = parts.netloc.rpartition("@")[2]
    shown = host if _VARIABLE_ONLY.fullmatch(host) or (parts.hostname or "") in LOOPBACK_HOSTS else "…"
    return f"{parts.scheme}://{shown}#{hashlib.sha256(channel.encode()).hexdigest()[:8]}"


def send(channel: str, title: str, body: str, attempts: int, sleep: Callable[[float], None] = time.sleep, *,
         attach: Path | None = None, attach_name: str | None = None) -> str | None:
    """Send to one config channel; None once sent, else why the last try failed (secrets masked).

    `attach`: a file sent along (named `attach_name`) where the service takes attachments; the others get
    the body alone. The body then stands for the whole file: one longer than the service takes is cut to
    its limit rather than refused (some services refuse an overlong message), unless the URL sets `overflow=`."""
    import apprise  # here: loading its plugins takes a while, and most runs send nothing
    from apprise.attachment.file import AttachFile

    quiet_apprise()
    url = channel_url(channel)
    if url is None:
        return f"environment variable {', '.join(channel_variables(channel))} is not set"
    secrets = _secrets_of(channel, url)
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "Apprise does not recognise this URL"
    files = None
    if attach is not None:
        files = apprise.AppriseAttachment(AttachFile(str(attach), name=attach_name))
        if "overflow=" not in url:
            for service in notifier:
                service.overflow_mode = apprise.OverflowMode.TRUNCATE
    error = "failed"
    for attempt in range(attempts):
        with apprise.LogCapture(level=logging.WARNING) as captured:
            sent = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN, attach=files)
        if sent:
            return None
        said = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        error = secrets.mask(said[-1] if said else "Apprise reported a failure")[:300]
        if attempt + 1 < attempts:
            sleep(RETRY_WAITS[min(attempt, len(RETRY_WAITS) - 1)])
    return error


def _secrets_of(channel: str, url: str) -> Secrets:
    """The channel's URL, the values the environment filled into it, and their pieces (a token is often
    one path segment of the URL Apprise reports)."""
    values = [os.environ[name] for name in channel_variables(channel)]
    pieces = [piece for value in (*values, url) for piece in _URL_PIECES.split(value)]
    return Secrets([*values, *pieces, url])


def quiet_apprise() -> None:
    """Apprise's own log lines name the URLs it sends to (tokens): they are read through LogCapture and
    masked, never passed on to citewatch's log."""
    logging.getLogger("apprise").propagate = False
