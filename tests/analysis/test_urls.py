from __future__ import annotations

import importlib
import os
import socket
from pathlib import Path

import pytest

from monitor.analysis import host_of, normalize_url, registrable_domain
from monitor.analysis import urls as urls_module
from monitor.analysis.urls import config_domain_host, host_in_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Acme.COM/Path", "https://www.acme.com/Path"),
        ("http://acme.com:80/a", "http://acme.com/a"),
        ("https://acme.com:443/a", "https://acme.com/a"),
        ("http://acme.com:443/a", "http://acme.com:443/a"),
        ("https://acme.com:8443/a", "https://acme.com:8443/a"),
        ("https://acme.com", "https://acme.com/"),
        ("https://acme.com/", "https://acme.com/"),
        ("https://acme.com/a/b/", "https://acme.com/a/b"),
        ("https://acme.com/a//", "https://acme.com/a/"),
        ("https://acme.com/a#section", "https://acme.com/a"),
        ("https://acme.com/a#:~:text=best%20widgets", "https://acme.com/a"),
        ("https://acme.com/a?utm_source=openai", "https://acme.com/a"),
        ("https://acme.com/a?UTM_Medium=x&id=3", "https://acme.com/a?id=3"),
        ("https://acme.com/a?b=2&gclid=x&a=1&fbclid=y", "https://acme.com/a?b=2&a=1"),
        (
            "https://acme.com/?msclkid=1&yclid=2&dclid=3&gbraid=4&wbraid=5&mc_cid=6"
            "&mc_eid=7&_hsenc=8&_hsmi=9&ref_src=10&igshid=11&srsltid=12",
            "https://acme.com/",
        ),
        ("https://acme.com/a?z=1&y=2", "https://acme.com/a?z=1&y=2"),
        ("https://acme.com/a?q=utm_source", "https://acme.com/a?q=utm_source"),
        ("https://acme.com/Case/Kept?Q=Kept", "https://acme.com/Case/Kept?Q=Kept"),
        ("https://acme.com./a", "https://acme.com/a"),
        ("http://[::1]:80/x/", "http://[::1]/x"),
        ("  https://acme.com/a  ", "https://acme.com/a"),
        ("  not a url  ", "not a url"),
        ("ftp://acme.com/file", "ftp://acme.com/file"),
        ("mailto:sales@acme.com", "mailto:sales@acme.com"),
        ("http://[::1/broken", "http://[::1/broken"),
        ("", ""),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


def test_normalize_url_keeps_www_distinct() -> None:
    assert normalize_url("https://www.acme.com/") != normalize_url("https://acme.com/")


def test_normalize_url_is_idempotent() -> None:
    once = normalize_url("HTTPS://Acme.com:443/x/?utm_source=a&b=1#frag")
    assert normalize_url(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://Blog.Acme.COM:8443/x", "blog.acme.com"),
        ("https://acme.com./", "acme.com"),
        ("http://user:pw@acme.com/", "acme.com"),
        ("http://[2001:DB8::1]:8080/", "2001:db8::1"),
        ("acme.com/path", "acme.com"),
        ("www.acme.com", "www.acme.com"),
        ("localhost:8080", "localhost"),
        ("https://例子.中国/路径", "例子.中国"),
        ("not a url", None),
        ("mailto:sales@acme.com", None),
        ("javascript:alert(1)", None),
        ("https://", None),
        ("", None),
    ],
)
def test_host_of(raw: str, expected: str | None) -> None:
    assert host_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.acme.com/x", "acme.com"),
        ("https://shop.acme.co.uk/x", "acme.co.uk"),
        ("a.b.acme.com.cn", "acme.com.cn"),
        ("ACME.COM", "acme.com"),
        ("acme.com.", "acme.com"),
        # Private suffixes are not public ones: github.io is the domain.
        ("https://blog.acme.github.io/", "github.io"),
        ("https://例子.中国/", "例子.中国"),
        ("xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"),
        ("http://203.0.113.5:8080/x", "203.0.113.5"),
        ("http://[2001:db8::1]/", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("http://localhost:8000/", None),
        ("com", None),
        ("intranet.invalidtld", None),
        ("garbage text", None),
        ("", None),
    ],
)
def test_registrable_domain(raw: str, expected: str | None) -> None:
    assert registrable_domain(raw) == expected


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("acme.com", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("https://www.acme.com/en/", "acme.com"),
        ("HTTP://Shop.Acme.com", "shop.acme.com"),
        ("www.com", "www.com"),
        ("", None),
    ],
)
def test_config_domain_host(domain: str, expected: str | None) -> None:
    assert config_domain_host(domain) == expected


@pytest.mark.parametrize(
    ("host", "domain", "expected"),
    [
        ("acme.com", "acme.com", True),
        ("blog.acme.com", "acme.com", True),
        ("notacme.com", "acme.com", False),
        ("acme.com.evil.io", "acme.com", False),
        ("bücher.de", "xn--bcher-kva.de", True),
        ("shop.xn--bcher-kva.de", "bücher.de", True),
    ],
)
def test_host_in_domain(host: str, domain: str, expected: bool) -> None:
    assert host_in_domain(host, domain) is expected


def test_network_guard_is_active(no_network: list[str]) -> None:
    # Without this, the no-network claims below would prove nothing.
    with pytest.raises(AssertionError, match="network access attempted"):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as sock, pytest.raises(AssertionError, match="network access attempted"):
        sock.connect(("127.0.0.1", 9))
    assert len(no_network) == 2
    no_network.clear()  # expected here; any other attempt fails the test


def test_suffix_list_loads_without_network_or_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    # A fresh module under the socket guard, with tldextract's cache
    # directory pointed at an empty folder: a lookup must need neither.
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    fresh = importlib.reload(urls_module)
    try:
        assert fresh.registrable_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
        assert fresh.registrable_domain("https://shop.acme.com.cn/") == "acme.com.cn"
        assert os.listdir(tmp_path) == []
        assert no_network == []
    finally:
        importlib.reload(urls_module)
