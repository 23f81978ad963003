"""URL normalisation, hosts and registrable domains.

Pure functions: nothing here reaches the network or the disk. The public
suffix list comes from the snapshot bundled with tldextract.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

import tldextract

__all__ = [
    "TRACKING_PARAMS",
    "config_domain_host",
    "host_forms",
    "host_in_domain",
    "host_of",
    "normalize_url",
    "registrable_domain",
]

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

# suffix_list_urls=() and cache_dir=None: use only the bundled suffix-list
# snapshot, so there is never a download nor a cache write. Private suffixes
# (github.io, blogspot.com, ...) are NOT treated as public suffixes: the
# registrable domain of blog.acme.github.io is github.io. The registrable
# domain groups citations by site operator for reporting; ownership does not
# depend on it (owner_of matches configured domains, so a configured
# acme.github.io still owns blog.acme.github.io).
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
)


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
        bare_ip = _ip(s)
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


def _ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def registrable_domain(url_or_host: str) -> str | None:
    """eTLD+1 of a URL or host (``www.acme.co.uk`` -> ``acme.co.uk``).

    An IP address is its own "domain"; localhost, bare suffixes and hosts
    under an unknown TLD have none (None).
    """
    host = host_of(url_or_host)
    return None if host is None else _registrable_domain_of_host(host)


@lru_cache(maxsize=65536)  # the same sites are cited over and over
def _registrable_domain_of_host(host: str) -> str | None:
    ip = _ip(host)
    if ip is not None:
        return ip
    found = _EXTRACT(host)
    # tldextract >= 5.3 renamed registered_domain (now deprecated).
    domain = getattr(found, "top_domain_under_public_suffix", None)
    if domain is None:
        domain = found.registered_domain
    return domain or None


@lru_cache(maxsize=65536)  # called for every citation against every tracked domain
def host_forms(host: str) -> frozenset[str]:
    """The host in both its Unicode and its punycode (IDNA) spelling."""
    h = host.lower().rstrip(".")
    forms = {h}
    try:
        if h.isascii():
            if "xn--" in h:
                forms.add(h.encode("ascii").decode("idna").lower())
        else:
            forms.add(h.encode("idna").decode("ascii").lower())
    except UnicodeError:
        pass  # not valid IDNA: compare the spelling we were given
    return frozenset(forms)


def config_domain_host(domain: str) -> str | None:
    """Host of a domain as written in config (scheme, www. and path allowed).

    A leading ``www.`` is dropped so that ``acme.com`` and ``www.acme.com``
    configure the same site (subdomains of it match anyway).
    """
    host = host_of(domain)
    if host is None:
        return None
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def host_in_domain(host: str, domain_host: str) -> bool:
    """True when ``host`` is ``domain_host`` or one of its subdomains.

    Compares label-wise, so notacme.com is not within acme.com, and in both
    Unicode and punycode spellings.
    """
    for h in host_forms(host):
        for d in host_forms(domain_host):
            if h == d or h.endswith("." + d):
                return True
    return False
