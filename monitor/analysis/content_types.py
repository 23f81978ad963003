"""Content type of a cited URL: config rules first, then heuristics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from .urls import config_domain_host, host_forms, host_in_domain, host_of, registrable_domain

__all__ = ["CONTENT_TYPES", "ContentRule", "classify_url", "rules_from_config"]

CONTENT_TYPES = (
    "research",
    "blog",
    "video",
    "news",
    "docs",
    "product",
    "forum",
    "social",
    "other",
)


@dataclass(frozen=True)
class ContentRule:
    """A config rule; every condition given must hold.

    ``domain`` matches its subdomains too; ``url_contains`` and ``url_regex``
    are tested on the whole URL, case-insensitively.
    """

    type: str
    domain: str | None = None
    url_contains: str | None = None
    url_regex: str | None = None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _rule_matches(rule: ContentRule, url: str, host: str | None) -> bool:
    if rule.domain is not None:
        domain_host = config_domain_host(rule.domain)
        if host is None or domain_host is None or not host_in_domain(host, domain_host):
            return False
    if rule.url_contains is not None and rule.url_contains.lower() not in url.lower():
        return False
    if rule.url_regex is not None and not _regex(rule.url_regex).search(url):
        return False
    return True


_RULE_KEYS = ("type", "domain", "url_contains", "url_regex")


def _condition(item: Mapping[str, object], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def rules_from_config(items: Iterable[Mapping[str, object]]) -> list[ContentRule]:
    """ContentRules from config mappings; ValueError names what is wrong."""
    rules: list[ContentRule] = []
    for index, item in enumerate(items, start=1):
        where = f"content rule #{index}"
        unknown = sorted(set(item) - set(_RULE_KEYS))
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(_RULE_KEYS)}"
            )
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in CONTENT_TYPES:
            raise ValueError(
                f"{where}: unknown content type {kind!r}; "
                f"expected one of {', '.join(CONTENT_TYPES)}"
            )
        domain, url_contains, url_regex = (
            _condition(item, key, where) for key in _RULE_KEYS[1:]
        )
        if domain is None and url_contains is None and url_regex is None:
            # A rule without conditions would swallow every URL.
            raise ValueError(f"{where}: give at least one of domain, url_contains, url_regex")
        if domain is not None and config_domain_host(domain) is None:
            raise ValueError(f"{where}: domain {domain!r} is not a host name")
        if url_regex is not None:
            try:
                _regex(url_regex)
            except re.error as exc:
                raise ValueError(f"{where}: url_regex {url_regex!r} is invalid: {exc}") from None
        rules.append(
            ContentRule(type=kind, domain=domain, url_contains=url_contains, url_regex=url_regex)
        )
    return rules


# --- built-in heuristics ---------------------------------------------------
#
# Order, from most to least reliable:
#   1. well-known hosts (a host says more than a path: youtube.com/news/... is
#      a video); each host appears in one list only;
#   2. subdomain hints (docs./developer./help., forum./community., blog.):
#      the subdomain names the whole property, so it beats a path hint;
#   3. path-segment hints, in the order video, research, docs, forum, news,
#      blog, product (rarer, more specific words before common ones);
#   4. a .pdf path, taken as research only when nothing above decided
#      (/docs/manual.pdf stays docs);
#   5. otherwise "other".

_HOSTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("video", ("youtube.com", "youtu.be", "vimeo.com", "bilibili.com", "tiktok.com", "douyin.com")),
    ("forum", ("reddit.com", "quora.com", "zhihu.com", "stackoverflow.com", "stackexchange.com")),
    (
        "social",
        (
            "linkedin.com",
            "twitter.com",
            "x.com",
            "facebook.com",
            "instagram.com",
            "weibo.com",
            "weixin.qq.com",
            "xiaohongshu.com",
        ),
    ),
    (
        "research",
        (
            "arxiv.org",
            "doi.org",
            "researchgate.net",
            "ncbi.nlm.nih.gov",
            "sciencedirect.com",
            "springer.com",
            "nature.com",
            "ieee.org",
        ),
    ),
    (
        "news",
        (
            "reuters.com",
            "bloomberg.com",
            "apnews.com",
            "bbc.co.uk",
            "bbc.com",
            "cnn.com",
            "nytimes.com",
            "theguardian.com",
            "wsj.com",
            "ft.com",
            "forbes.com",
            "techcrunch.com",
            "theverge.com",
            "xinhuanet.com",
            "chinadaily.com.cn",
            "scmp.com",
        ),
    ),
    ("docs", ("readthedocs.io", "readthedocs.org")),
    ("blog", ("medium.com", "substack.com")),
    ("product", ("alibaba.com", "aliexpress.com", "made-in-china.com", "globalsources.com")),
)
# Marketplaces with one site per country (amazon.de, ebay.co.uk, ...).
_PRODUCT_BRANDS = frozenset({"amazon", "ebay"})

_SUBDOMAIN_HINTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("docs", frozenset({"docs", "developer", "developers", "help"})),
    ("forum", frozenset({"forum", "forums", "community"})),
    ("blog", frozenset({"blog", "blogs"})),
)

_SEGMENT_HINTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("video", frozenset({"video", "videos"})),
    ("research", frozenset({"research", "papers", "paper", "whitepaper", "whitepapers"})),
    ("docs", frozenset({"docs", "doc", "documentation", "manual", "manuals"})),
    ("forum", frozenset({"forum", "forums", "community"})),
    ("news", frozenset({"news", "press", "newsroom", "press-release", "press-releases"})),
    ("blog", frozenset({"blog", "blogs", "articles", "article", "insights"})),
    ("product", frozenset({"product", "products", "shop", "store", "p", "item", "items", "catalog"})),
)
_SEGMENT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("research", "whitepaper"),  # /whitepaper-2024.html
    ("news", "press-release"),  # /press-release-acme-launches
)


# domain -> type, so a host is classified by looking up its own suffixes, not by scanning every domain
_HOST_TYPES: dict[str, str] = {domain: kind for kind, domains in reversed(_HOSTS) for domain in domains}


def _known_host_type(host: str) -> str | None:
    for form in host_forms(host):
        labels = form.split(".")
        for start in range(len(labels)):
            kind = _HOST_TYPES.get(".".join(labels[start:]))
            if kind is not None:
                return kind
    return None


def _host_type(host: str) -> str | None:
    kind = _known_host_type(host)
    if kind is not None:
        return kind
    if host.startswith("scholar.google."):
        return "research"
    labels = host.split(".")
    if "edu" in labels[1:]:  # mit.edu, cs.stanford.edu, tsinghua.edu.cn
        return "research"
    site = registrable_domain(host) or ""
    if site.split(".", 1)[0] in _PRODUCT_BRANDS:
        return "product"
    return None


def _subdomain_type(host: str) -> str | None:
    site = registrable_domain(host)
    if not site or host == site:
        return None
    first = host.split(".", 1)[0]
    for kind, names in _SUBDOMAIN_HINTS:
        if first in names:
            return kind
    return None


def _path_type(segments: list[str]) -> str | None:
    # Discourse topics: /t/<slug>/<id>
    is_discourse = len(segments) >= 3 and segments[0] == "t" and segments[2].isdigit()
    for kind, names in _SEGMENT_HINTS:
        if any(s in names for s in segments):
            return kind
        if kind == "docs" and any(
            a == "api" and b == "reference" for a, b in zip(segments, segments[1:])
        ):
            return kind
        if kind == "forum" and is_discourse:
            return kind
        for prefix_kind, prefix in _SEGMENT_PREFIXES:
            if prefix_kind == kind and any(s.startswith(prefix) for s in segments):
                return kind
    return None


def classify_url(url: str, rules: Sequence[ContentRule] = ()) -> str:
    """One of CONTENT_TYPES for ``url``; the first matching rule wins."""
    host = host_of(url)
    for rule in rules:
        if _rule_matches(rule, url, host):
            return rule.type
    if host is None:
        return "other"
    kind = _host_type(host) or _subdomain_type(host)
    if kind:
        return kind
    try:
        path = unquote(urlsplit(url.strip() if "://" in url else "//" + url.strip()).path)
    except ValueError:
        return "other"
    segments = [s for s in path.lower().split("/") if s]
    kind = _path_type(segments)
    if kind:
        return kind
    if path.lower().endswith(".pdf"):
        return "research"
    return "other"
