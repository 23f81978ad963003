"""Which tracked entity (brand or competitor) owns a URL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from .urls import config_domain_host, host_in_domain, host_of, registrable_domain

__all__ = ["EntitySpec", "owner_of", "source_url"]


@dataclass(frozen=True)
class EntitySpec:
    """A brand or competitor as configured.

    Mentions of ``people`` (executives, experts) and ``titles`` (research
    or report titles) also count as mentions of the entity.
    """

    name: str
    kind: str  # "brand" | "competitor"
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()


# (domain host, entity name), longest domain first so the most specific wins;
# entity order breaks ties, so the first entity listed keeps a shared domain.
_DomainTable = tuple[tuple[str, str], ...]


def _build_table(entities: Sequence[EntitySpec]) -> _DomainTable:
    rows: list[tuple[int, int, str, str]] = []
    for index, entity in enumerate(entities):
        for domain in entity.domains:
            host = config_domain_host(domain)
            if host:
                rows.append((-len(host), index, host, entity.name))
    rows.sort()
    return tuple((host, name) for _, _, host, name in rows)


@lru_cache(maxsize=64)
def _cached_table(entities: tuple[EntitySpec, ...]) -> _DomainTable:
    return _build_table(entities)


def _table(entities: Sequence[EntitySpec]) -> _DomainTable:
    # Called for every citation: reuse the table when the entities hash.
    try:
        return _cached_table(tuple(entities))
    except TypeError:  # lists inside a spec make it unhashable
        return _build_table(entities)


def owner_of(url: str, entities: Sequence[EntitySpec]) -> str | None:
    """Name of the entity whose configured domain holds the URL's host.

    Subdomains count (blog.acme.com belongs to acme.com); lookalikes do not
    (notacme.com). When several domains match, the longest one wins.
    """
    host = host_of(url)
    if host is None:
        return None
    for domain_host, name in _table(entities):
        if host_in_domain(host, domain_host):
            return name
    return None


# Hosts whose URLs hide the real source. Vertex AI Search redirects are what
# Gemini grounding returns; the real site is only in the chunk's title.
_REDIRECT_HOSTS = frozenset({"vertexaisearch.cloud.google.com"})
_GOOGLE_REDIRECT_PATHS = frozenset({"/url", "/search"})
_TARGET_PARAMS = ("q", "url")
_MAX_UNWRAP = 3  # a redirect to a redirect is possible; a loop is not

# A bare domain: dot-separated labels, the last one alphabetic (or punycode).
_DOMAIN_TITLE = re.compile(
    r"^(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})\.?$",
    re.IGNORECASE,
)


def _is_google(host: str) -> bool:
    domain = registrable_domain(host) or ""
    return domain.split(".", 1)[0] == "google"


def _is_aggregator(url: str) -> bool:
    host = host_of(url)
    if host is None:
        return False
    if host in _REDIRECT_HOSTS:
        return True
    try:
        path = urlsplit(url.strip()).path.rstrip("/")
    except ValueError:
        return False
    return path in _GOOGLE_REDIRECT_PATHS and _is_google(host)


def _redirect_target(url: str) -> str | None:
    """The http(s) URL carried in google.*/url?q=... (or url=...), if any."""
    host = host_of(url)
    if host is None or not _is_google(host):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.path.rstrip("/") not in _GOOGLE_REDIRECT_PATHS:
        return None
    params = dict(parse_qsl(parts.query))
    for key in _TARGET_PARAMS:
        target = params.get(key, "").strip()
        if target.lower().startswith(("http://", "https://")):
            return target
    return None


def _title_domain(title: str | None) -> str | None:
    if not title:
        return None
    candidate = title.strip()
    if not _DOMAIN_TITLE.match(candidate):
        return None
    # "Node.js" looks like a domain; only a known public suffix makes it one.
    return candidate if registrable_domain(candidate) else None


def source_url(url: str, title: str | None) -> str:
    """The URL that names a source's real site: redirects are unwrapped
    (google.*/url?q=<target>), and for a redirect host that carries no target
    (Vertex AI Search grounding links) the title, when it is a bare domain,
    becomes https://<domain>/ — Gemini puts the real site there. Otherwise the
    URL itself."""
    for _ in range(_MAX_UNWRAP):
        target = _redirect_target(url)
        if target is None:
            break
        url = target
    if _is_aggregator(url):
        domain = _title_domain(title)
        if domain is not None:
            return f"https://{domain.rstrip('.')}/"
    return url
