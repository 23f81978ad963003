"""The identity of a page URL: normalization (what makes two citations the same page) and its host.

Pure standard library, so that parsers and analysis share one rule without importing each other.
A change here that merges or splits pages must bump every parser's PARSER_VERSION, so that
`citewatch reparse` refreshes the history.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "host_of", "ip_literal", "normalize_url", "trim_url"]

# Exact names (compared lowercase); any utm_* is dropped as well.
TRACKING_PARAMS = frozenset(
    {
        "gclid",
        "fbclid",
        "msclkid",
        "yclid",
        "dclid",
        "gbraid",
        "wbraid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "igshid",
        "srsltid",
        "twclid",
        "_ga",
        "_gl",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "spm",  # Alibaba / Made-in-China click tracking
    }
)

_HTTP = re.compile(r"^https?://", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
# Characters that never appear in a host; their presence means "not a URL".
_BAD_HOST_CHARS = re.compile(r"[\s<>\"'`{}|\\^,;()]")
_DEFAULT_PORTS = {"http": "80", "https": "443"}

def _is_tracking(key: str) -> bool:
    k = unquote(key).strip().lower()
    return k.startswith("utm_") or k in TRACKING_PARAMS


def _split_hostport(hostport: str) -> tuple[str, str | None]:
    """Split "host:port" (IPv6 literals in brackets) into host and port."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end != -1:
            rest = hostport[end + 1 :]
            if rest.startswith(":"):
                return hostport[: end + 1], rest[1:]
            return hostport[: end + 1], None
        return hostport, None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    return hostport, None


@lru_cache(maxsize=65536)  # every citation is normalized by its parser and again by the analysis
def normalize_url(url: str) -> str:
    """Canonical form of an http(s) URL, used to compare citations.

    Lowercases scheme and host, drops default ports, the fragment (text
    fragments included) and tracking parameters, maps an empty path to "/"
    and strips one trailing slash from other paths. ``www.`` is kept because
    different hosts may serve different content. Anything that is not an
    http(s) URL comes back stripped and otherwise unchanged.
    """
    s = url.strip()
    if not _HTTP.match(s):
        return s
    try:
        parts = urlsplit(s)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return s
    scheme = parts.scheme.lower()
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, port = _split_hostport(hostport)
    host = host.lower()
    if host.endswith(".") and not host.startswith("["):
        host = host[:-1]  # "acme.com." is the same host as "acme.com"
    if not host or _BAD_HOST_CHARS.search(host):
        return s
    if port == "" or port == _DEFAULT_PORTS[scheme]:
        port = None
    netloc = f"{userinfo}{at}{host}" + (f":{port}" if port is not None else "")

    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]

    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(pair.split("=", 1)[0])
    ]
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


@lru_cache(maxsize=65536)  # asked for each citation by ownership, content type and domain lookups
def host_of(url: str) -> str | None:
    """Lowercase host of a URL, without port, brackets or trailing dot.

    Also accepts a scheme-less "host/path" (config domains are often written
    that way). Returns None when no plausible host is present.
    """
    s = url.strip()
    if not s:
        return None
    if not _ANY_SCHEME.match(s):
        bare_ip = ip_literal(s)
        if bare_ip is not None:  # a bare IPv6 literal is not "host:port"
            return bare_ip
        if ":" in s.split("/", 1)[0] and not s.startswith("["):
            # "mailto:x", "javascript:..." or "host:port" - only the last is a host.
            head = s.split("/", 1)[0]
            if not re.fullmatch(r"[^:]+:\d+", head):
                return None
        s = "//" + s
    try:
        host = urlsplit(s).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if not host or _BAD_HOST_CHARS.search(host):
        return None
    return host


def ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


# What follows a URL in prose without belonging to it: sentence punctuation, quotes, Markdown emphasis
# ("**https://x.com**"), and their full-width forms in CJK text.
_AFTER_URL = ".,;:!?'\"*_~，。）；：！？、"


def trim_url(url: str) -> str:
    """A URL found in prose, without the punctuation that follows it, nor a ')' closing a parenthesis the URL
    did not open ("(see https://x.com/a)" loses it, ".../Valve_(disambiguation)" keeps it).

    Shared by the openai_chat parser (URLs written in the text are citations: a change here must bump its
    PARSER_VERSION) and the mention analysis (URLs are not prose)."""
    while url and (url[-1] in _AFTER_URL or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url
