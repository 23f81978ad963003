"""HTML pages: the report's Jinja setup (autoescape everywhere, invisible and direction characters shown by
their code points) and a link only for an http(s) URL, so stored text never runs and never links
anywhere else (`javascript:`, `data:`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.report.i18n import LABELS
from monitor.report.numbers import number, pct
from monitor.report.render import points_in, visible


def http_url(url: object) -> bool:
    """True for an absolute http(s) URL with a host and nothing a browser would strip before reading its
    scheme (spaces, tabs, control or invisible characters): only those become links."""
    if not isinstance(url, str) or not url or visible(url) != url or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def when(moment: datetime | None) -> str:
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def environment(language: str = "en") -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        finalize=visible,
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=pct, number=number, when=when)
    env.tests["http_url"] = http_url
    env.globals.update(points=points_in(LABELS[language]))
    return env


def render(env: Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
