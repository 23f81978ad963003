"""Registrable domains and host matching, over the URL identity of `citewatch.urls`.

Pure functions: nothing here reaches the network or the disk. The public
suffix list comes from the snapshot bundled with tldextract.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import tldextract

from citewatch.urls import host_of, ip_literal, normalize_url

__all__ = [
    "config_domain_host",
    "host_forms",
    "host_in_domain",
    "host_of",
    "normalize_url",
    "registrable_domain",
]

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


def registrable_domain(url_or_host: str) -> str | None:
    """eTLD+1 of a URL or host (``www.acme.co.uk`` -> ``acme.co.uk``).

    An IP address is its own "domain"; localhost, bare suffixes and hosts
    under an unknown TLD have none (None).
    """
    host = host_of(url_or_host)
    return None if host is None else _registrable_domain_of_host(host)


@lru_cache(maxsize=65536)  # the same sites are cited over and over
def _registrable_domain_of_host(host: str) -> str | None:
    ip = ip_literal(host)
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


def suffix_lookup(host: str, table: Mapping[str, str]) -> str | None:
    """The value `table` holds for the longest suffix of `host` (in either IDNA spelling), if any: a host
    is classified by looking up its own suffixes, not by scanning every listed domain."""
    for form in host_forms(host):
        labels = form.split(".")
        for start in range(len(labels)):
            found = table.get(".".join(labels[start:]))
            if found is not None:
                return found
    return None


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
