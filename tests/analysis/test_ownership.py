from __future__ import annotations

import pytest

from monitor.analysis import EntitySpec, owner_of, source_url

ACME = EntitySpec(
    "Acme",
    "brand",
    domains=("https://www.acme.com/en/", "acme.co.uk", "bücher.de", "acme.github.io"),
)
BETA = EntitySpec("Beta", "competitor", domains=("beta.io", "eu.acme.com"))
GAMMA = EntitySpec("Gamma", "competitor", domains=("www.gamma.cn",))
# Shares a domain with Acme but is listed later: the first listed keeps it.
COPY = EntitySpec("Copycat", "competitor", domains=("acme.co.uk",))
ENTITIES = (ACME, BETA, GAMMA, COPY)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.com/", "Acme"),
        ("https://www.acme.com/products/x", "Acme"),
        ("https://blog.acme.com/post", "Acme"),
        ("HTTPS://BLOG.ACME.COM/", "Acme"),
        ("https://acme.com./x", "Acme"),
        ("https://acme.com:8443/x", "Acme"),
        ("https://notacme.com/", None),
        ("https://acme.com.evil.io/", None),
        ("https://acme.net/", None),
        # The path of a configured domain does not restrict ownership.
        ("https://acme.com/de/", "Acme"),
        # Most specific (longest) domain wins across entities.
        ("https://eu.acme.com/x", "Beta"),
        ("https://shop.eu.acme.com/x", "Beta"),
        ("https://us.acme.com/x", "Acme"),
        ("https://acme.co.uk/", "Acme"),
        ("https://beta.io/", "Beta"),
        ("https://gamma.cn/", "Gamma"),
        ("https://news.gamma.cn/", "Gamma"),
        # Private-suffix sites are owned as configured.
        ("https://blog.acme.github.io/", "Acme"),
        ("https://other.github.io/", None),
        # IDN: Unicode and punycode spellings are the same host.
        ("https://bücher.de/", "Acme"),
        ("https://shop.xn--bcher-kva.de/", "Acme"),
        ("not a url", None),
        ("", None),
    ],
)
def test_owner_of(url: str, expected: str | None) -> None:
    assert owner_of(url, ENTITIES) == expected


def test_owner_of_accepts_a_list_and_unhashable_specs() -> None:
    assert owner_of("https://beta.io/", list(ENTITIES)) == "Beta"
    loose = EntitySpec("Loose", "brand", domains=["loose.org"])  # type: ignore[arg-type]
    assert owner_of("https://www.loose.org/", [loose]) == "Loose"


def test_owner_of_without_entities() -> None:
    assert owner_of("https://acme.com/", ()) is None


VERTEX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC123"


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        # Ordinary URLs: the title does not matter.
        ("https://acme.com/x", None, "Acme"),
        ("https://beta.io/x", "acme.com", "Beta"),
        ("https://example.org/", "acme.com", None),
        # Gemini grounding: the real site is only in the title.
        (VERTEX, "acme.com", "Acme"),
        (VERTEX, "www.acme.com", "Acme"),
        (VERTEX, "Blog.Acme.com", "Acme"),
        (VERTEX, "beta.io", "Beta"),
        (VERTEX, "example.org", None),
        (VERTEX, "The Acme widget guide", None),
        (VERTEX, "Node.js", None),
        (VERTEX, None, None),
        (VERTEX, "", None),
        # Google redirects carry the target in q= or url=.
        ("https://www.google.com/url?q=https://beta.io/x&sa=U", None, "Beta"),
        ("https://www.google.com/url?sa=t&url=https%3A%2F%2Fblog.acme.com%2Fa", None, "Acme"),
        ("https://google.co.uk/url?q=https://acme.co.uk/", "whatever", "Acme"),
        # A redirect with no usable target falls back to a domain title.
        ("https://www.google.com/url?q=not-a-url", "beta.io", "Beta"),
        ("https://www.google.com/search?q=acme+widgets", "acme.com", "Acme"),
        # Other Google pages are not redirects: the title is not used.
        ("https://www.google.com/maps/place/x", "acme.com", None),
        ("https://notgoogle.com/url?q=https://acme.com/", None, None),
    ],
)
def test_owner_of_the_real_site_behind_a_source(url: str, title: str | None, expected: str | None) -> None:
    assert owner_of(source_url(url, title), ENTITIES) == expected  # as monitor.enrich judges every citation
