"""Page type of a cited URL: config rules first, then URL and title heuristics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from citewatch.urls import TRACKING_PARAMS

from .urls import config_domain_host, host_in_domain, host_of, registrable_domain, suffix_lookup

__all__ = [
    "CONTENT_TYPES",
    "LEGACY_CONTENT_TYPES",
    "ContentRule",
    "classify_url",
    "rules_from_config",
]

# Identifiers stored in the database and written to JSON: never rename one
# without a migration (see LEGACY_CONTENT_TYPES).
CONTENT_TYPES = (
    "homepage",
    "product",
    "category",
    "blog_post",
    "how_to",
    "listicle",
    "comparison",
    "research",
    "documentation",
    "video",
    "news",
    "forum",
    "social",
    "other",
)

# Types renamed by issue 10. Config still accepts the old names, and the
# storage migration rewrites stored rows with this mapping.
LEGACY_CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {"blog": "blog_post", "docs": "documentation"}
)


@dataclass(frozen=True)
class ContentRule:
    """A config rule; every condition given must hold.

    ``domain`` matches its subdomains too; ``url_contains`` and ``url_regex``
    are tested on the whole URL, ``title_contains`` and ``title_regex`` on
    the citation's title (a rule with a title condition never matches an
    untitled citation); all case-insensitively. A legacy type name (``blog``,
    ``docs``) is stored as its new name, so a rule never yields a retired type.
    """

    type: str
    domain: str | None = None
    url_contains: str | None = None
    url_regex: str | None = None
    title_contains: str | None = None
    title_regex: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", LEGACY_CONTENT_TYPES.get(self.type, self.type))


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _rule_matches(rule: ContentRule, url: str, host: str | None, title: str | None) -> bool:
    if rule.domain is not None:
        domain_host = config_domain_host(rule.domain)
        if host is None or domain_host is None or not host_in_domain(host, domain_host):
            return False
    if rule.url_contains is not None and rule.url_contains.lower() not in url.lower():
        return False
    if rule.url_regex is not None and not _regex(rule.url_regex).search(url):
        return False
    if rule.title_contains is not None and (
        title is None or rule.title_contains.casefold() not in title.casefold()
    ):
        return False
    if rule.title_regex is not None and (title is None or not _regex(rule.title_regex).search(title)):
        return False
    return True


_RULE_KEYS = ("type", "domain", "url_contains", "url_regex", "title_contains", "title_regex")
_CONDITION_KEYS = _RULE_KEYS[1:]


def reject_unknown_keys(item: Mapping[str, object], allowed: Sequence[str], where: str) -> None:
    """ValueError naming the keys of a config rule that are not among `allowed`."""
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")


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
        reject_unknown_keys(item, _RULE_KEYS, where)
        kind = item.get("type")
        if not isinstance(kind, str) or (kind not in CONTENT_TYPES and kind not in LEGACY_CONTENT_TYPES):
            raise ValueError(
                f"{where}: unknown content type {kind!r}; "
                f"expected one of {', '.join(CONTENT_TYPES)} "
                f"(or the old names {', '.join(LEGACY_CONTENT_TYPES)})"
            )
        conditions = {key: _condition(item, key, where) for key in _CONDITION_KEYS}
        if all(value is None for value in conditions.values()):
            # A rule without conditions would swallow every URL.
            raise ValueError(f"{where}: give at least one of {', '.join(_CONDITION_KEYS)}")
        domain = conditions["domain"]
        if domain is not None and config_domain_host(domain) is None:
            raise ValueError(f"{where}: domain {domain!r} is not a host name")
        for key in ("url_regex", "title_regex"):
            pattern = conditions[key]
            if pattern is not None:
                try:
                    _regex(pattern)
                except re.error as exc:
                    raise ValueError(f"{where}: {key} {pattern!r} is invalid: {exc}") from None
        rules.append(ContentRule(type=kind, **conditions))
    return rules


# --- built-in heuristics ---------------------------------------------------
#
# Order, from most to least reliable:
#   1. homepage: the path is empty, a language prefix (/en/, /zh-cn/) or an
#      index page (/index.html), with no query beyond tracking or language
#      parameters (/?p=123 is a WordPress post). Checked first because the
#      front page of any host, a platform's included, is a homepage.
#   2. well-known hosts (a host says more than a path: youtube.com/news/... is
#      a video); each host appears in one list only; the most specific suffix
#      wins (zhidao.baidu.com is a forum, baike.baidu.com is not listed);
#   3. subdomain hints (docs./help./support., forum./community./bbs.,
#      blog., news./press.): the subdomain names the whole property, so it
#      beats a path hint;
#   4. path-segment hints, in the order video, research, documentation,
#      forum, taxonomy (/category/, /tag/, /collections/... -> category,
#      unless a product item follows), news, blog_post, catalog (/products/x
#      -> product, /products alone -> category): rarer, more specific words
#      before common ones;
#   5. format: a page that is still an article (blog_post or news) or still
#      unclassified is refined to comparison, listicle or how_to, first from
#      its URL path, then from its title. The medium of any other type wins
#      (a YouTube "How to ..." stays video, a docs page stays documentation).
#      Comparison is tried before listicle ("10 best Acme alternatives" names
#      competitors), listicle before how_to ("7 best valves and how to
#      choose"). Titles come after the URL, which the site chose on purpose,
#      but they are often the only signal on blog-like pages, and the only
#      readable one for Chinese pages with numeric URLs.
#   6. a .pdf path, taken as research only when nothing above decided
#      (/docs/manual.pdf stays documentation);
#   7. otherwise "other".

# type -> hosts, a host and its subdomains; whitespace-separated to keep the lists short
_HOSTS: tuple[tuple[str, str], ...] = (
    (
        "video",
        "youtube.com youtu.be vimeo.com twitch.tv bilibili.com b23.tv tiktok.com douyin.com "
        "ixigua.com kuaishou.com youku.com v.qq.com"
    ),
    (
        "forum",
        "reddit.com quora.com stackoverflow.com stackexchange.com superuser.com "
        "serverfault.com news.ycombinator.com zhihu.com zhidao.baidu.com tieba.baidu.com "
        "v2ex.com segmentfault.com"
    ),
    (
        "social",
        "linkedin.com twitter.com x.com facebook.com instagram.com threads.net pinterest.com "
        "weibo.com weixin.qq.com xiaohongshu.com douban.com"
    ),
    (
        "research",
        "arxiv.org doi.org researchgate.net semanticscholar.org ncbi.nlm.nih.gov "
        "sciencedirect.com springer.com nature.com ieee.org jstor.org cnki.net "
        "wanfangdata.com.cn"
    ),
    (
        "news",
        "reuters.com bloomberg.com apnews.com bbc.co.uk bbc.com cnn.com cnbc.com nytimes.com "
        "theguardian.com wsj.com ft.com forbes.com techcrunch.com theverge.com wired.com "
        "scmp.com xinhuanet.com news.cn people.com.cn chinadaily.com.cn cctv.com thepaper.cn "
        "caixin.com yicai.com 36kr.com huxiu.com ifeng.com news.sina.com.cn news.qq.com "
        "news.163.com news.sohu.com"
    ),
    ("documentation", "readthedocs.io readthedocs.org gitbook.io"),
    ("how_to", "wikihow.com jingyan.baidu.com"),
    (
        "blog_post",
        "medium.com substack.com dev.to blogspot.com csdn.net cnblogs.com jianshu.com "
        "juejin.cn baijiahao.baidu.com"
    ),
    (
        "product",
        "alibaba.com aliexpress.com made-in-china.com globalsources.com 1688.com taobao.com "
        "tmall.com jd.com"
    ),
)
# Marketplaces with one site per country (amazon.de, ebay.co.uk, ...).
_PRODUCT_BRANDS = frozenset({"amazon", "ebay"})

_SUBDOMAIN_HINTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("documentation", frozenset({"docs", "developer", "developers", "help", "support", "kb"})),
    ("forum", frozenset({"forum", "forums", "community", "discuss", "bbs"})),
    ("blog_post", frozenset({"blog", "blogs"})),
    ("news", frozenset({"news", "newsroom", "press"})),
)

_SEGMENT_HINTS: dict[str, frozenset[str]] = {
    "video": frozenset({"video", "videos"}),
    "research": frozenset({"research", "papers", "paper", "whitepaper", "whitepapers"}),
    "documentation": frozenset(
        {"docs", "doc", "documentation", "manual", "manuals", "user-guide", "user-guides"}
    ),
    "forum": frozenset({"forum", "forums", "community"}),
    "news": frozenset({"news", "press", "newsroom", "press-release", "press-releases"}),
    "blog_post": frozenset({"blog", "blogs", "articles", "article", "insights"}),
}
_TAXONOMY = frozenset(
    {"category", "categories", "collection", "collections", "c", "tag", "tags", "topic", "topics"}
)
_CATALOG = frozenset({"product", "products", "shop", "store", "p", "item", "items", "catalog"})
_SEGMENT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("research", "whitepaper"),  # /whitepaper-2024.html
    ("news", "press-release"),  # /press-release-acme-launches
)


# domain -> type, so a host is classified by looking up its own suffixes, not by scanning every domain
_HOST_TYPES: dict[str, str] = {
    domain: kind for kind, domains in reversed(_HOSTS) for domain in domains.split()
}


def _host_type(host: str) -> str | None:
    kind = suffix_lookup(host, _HOST_TYPES)
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


# --- homepage ----------------------------------------------------------------

# Language codes sites put first in the path (/en/, /zh-cn/, /pt_br/, /es-419/,
# /zh-hans/), plus country codes used the same way (/cn/, /us/, /jp/). A
# closed list, not "any two letters": /ai/ or /go/ is a section, not a locale.
_LANGUAGES = (
    "ar bg bn ca cs da de el en es et fa fi fr he hi hr hu id it ja ko lt lv ms nl no pl pt ro ru "
    "sk sl sr sv th tl tr uk ur vi zh "
    "au br cn gb hk in jp kr mx sg tw us"
)
_LOCALE = re.compile(rf"(?:{'|'.join(_LANGUAGES.split())})(?:[-_](?:[a-z]{{2}}|hans|hant|\d{{3}}))?")
_INDEX_PAGE = re.compile(r"(?:index|home|default)(?:\.(?:html?|shtml|php|aspx?|jsp))?")
# Query keys that do not change which page is shown.
_HOMEPAGE_PARAMS = frozenset({"lang", "locale", "hl", "language"}) | TRACKING_PARAMS


def _is_homepage(segments: list[str], query: str) -> bool:
    rest = segments[1:] if segments and _LOCALE.fullmatch(segments[0]) else segments
    if len(rest) > 1 or (rest and not _INDEX_PAGE.fullmatch(rest[0])):
        return False
    for pair in query.split("&"):
        key = pair.split("=", 1)[0].strip().lower()
        if key and not key.startswith("utm_") and key not in _HOMEPAGE_PARAMS:
            return False
    return True


# --- path ----------------------------------------------------------------------


def _catalog_type(segments: list[str]) -> str | None:
    """/products/widget-x is a product, /products alone the category listing."""
    for index, segment in enumerate(segments):
        if segment in _CATALOG:
            return "product" if index + 1 < len(segments) else "category"
    return None


def _taxonomy_type(segments: list[str]) -> str | None:
    """/category/x, /tag/x, /collections/x; a product item after it wins
    (Shopify's /collections/valves/products/ball-valve-9 is one product)."""
    last = max((i for i, s in enumerate(segments) if s in _TAXONOMY), default=None)
    if last is None:
        return None
    if _catalog_type(segments[last + 1 :]) == "product":
        return None
    return "category"


def _hinted(segments: list[str], *kinds: str) -> str | None:
    for kind in kinds:
        if any(s in _SEGMENT_HINTS[kind] for s in segments):
            return kind
        if any(k == kind and s.startswith(prefix) for k, prefix in _SEGMENT_PREFIXES for s in segments):
            return kind
        if kind == "documentation" and any(
            a == "api" and b == "reference" for a, b in zip(segments, segments[1:])
        ):
            return kind
        # Discourse topics: /t/<slug>/<id>
        if kind == "forum" and len(segments) >= 3 and segments[0] == "t" and segments[2].isdigit():
            return kind
    return None


def _path_type(segments: list[str]) -> str | None:
    # Rarer, more specific words before common ones; a taxonomy before news
    # and blog (/blog/tag/valves lists posts), a catalog last (/press/products/x
    # is a press release).
    return (
        _hinted(segments, "video", "research", "documentation", "forum")
        or _taxonomy_type(segments)
        or _hinted(segments, "news", "blog_post")
        or _catalog_type(segments)
    )


# --- format: comparison, listicle, how_to ---------------------------------------
#
# The URL patterns run on the path rewritten as "/seg-words/seg-words/": words
# split on - _ . + and spaces, segments on /, so a word boundary is [-/].
# The title patterns avoid \b around English words, because a CJK character
# counts as a word character ("阀门vs球阀" has no \b before "vs").

_REFINABLE = frozenset({"blog_post", "news", None})
_WORDS = re.compile(r"[-_.+\s]+")
_EN = r"(?<![a-z])"  # no Latin letter before
_NE = r"(?![a-z])"  # no Latin letter after

# Chinese signals, the same in a decoded URL path and in a title.
# 比较 is also the adverb "rather" (哪个牌子比较好): not before an adjective.
_ZH_COMPARISON = r"对比|区别|哪个好|哪个更好|比较(?![好大多少高低贵便常适靠有强快稳容难重实耐])"
_ZH_LISTICLE = r"十大|排行|排名|盘点|榜单"
# 怎么样 asks "how good is it", not "how to".
_ZH_HOW_TO = r"如何|怎么(?!样)|怎样|教程|指南|攻略|手把手"
_LIST_NOUNS = (
    r"ways|tips|reasons|things|ideas|examples|tools|mistakes|brands|companies|manufacturers"
    r"|suppliers|products|apps|sites|websites"
)

_URL_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "comparison",
        re.compile(
            r"[-/](?:vs(?!-code[-/])|versus|compare|comparison|comparisons|alternatives)(?=[-/])"
            rf"|[-/]alternative-to[-/]|{_ZH_COMPARISON}"
        ),
    ),
    (
        "listicle",
        re.compile(
            r"/(?:the-)?best-(?!practices?[-/])"  # a slug starting best-...
            rf"|[-/]top-?\d+[-/]|[-/]\d+-(?:best|top|{_LIST_NOUNS})[-/]|{_ZH_LISTICLE}"
        ),
    ),
    ("how_to", re.compile(rf"[-/]how-?to[-/]|[-/](?:guide|guides|tutorial|tutorials)[-/]|{_ZH_HOW_TO}")),
)

_TITLE_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "comparison",
        re.compile(
            # "VS Code" is an editor, not a comparison
            rf"{_EN}(?:vs(?!\.?\s*code{_NE})\.?|versus|compar(?:e|ed|es|ing|ison|isons)"
            rf"|alternatives|alternative to){_NE}|{_ZH_COMPARISON}",
            re.IGNORECASE,
        ),
    ),
    (
        "listicle",
        re.compile(
            rf"^\W*(?:the\s+)?best\s+(?!practices?{_NE})|{_EN}top\s*\d+(?!\d)"
            rf"|(?<![\w.])\d+\s+(?:best|top|essential|must-have|{_LIST_NOUNS}){_NE}|{_ZH_LISTICLE}"
            # 三大 "three major ...", 5款 "5 models", 10种 "10 kinds"; at most two digits and
            # not after a Latin letter or digit, as 2024款 is a model year and BV-9款 a model;
            # never 一种 "a kind of"
            r"|(?<![0-9a-z.-])\d{1,2}\s*[款种大]|[两三四五六七八九十]+[款种大]",
            re.IGNORECASE,
        ),
    ),
    (
        "how_to",
        re.compile(
            rf"{_EN}(?:how[\s-]+to|step[\s-]+by[\s-]+step|guide|tutorial|walkthrough){_NE}|{_ZH_HOW_TO}",
            re.IGNORECASE,
        ),
    ),
)


def _format_type(segments: list[str], title: str | None) -> str | None:
    words = "/" + "/".join(_WORDS.sub("-", s).strip("-") for s in segments) + "/"
    for kind, pattern in _URL_FORMATS:
        if pattern.search(words):
            return kind
    if title:
        for kind, pattern in _TITLE_FORMATS:
            if pattern.search(title):
                return kind
    return None


def classify_url(url: str, rules: Sequence[ContentRule] = (), title: str | None = None,
                 path_known: bool = True) -> str:
    """One of CONTENT_TYPES for ``url`` (titled ``title`` where cited); the first matching rule wins.
    ``path_known=False`` for a site known by its host alone (a redirect naming only its domain): no
    homepage is inferred from its empty path."""
    host = host_of(url)
    for rule in rules:
        if _rule_matches(rule, url, host, title):
            return rule.type
    if host is None:
        return "other"
    try:
        parts = urlsplit(url.strip() if "://" in url else "//" + url.strip())
    except ValueError:
        return "other"
    path = unquote(parts.path).lower()
    segments = [s for s in path.split("/") if s]
    if path_known and _is_homepage(segments, parts.query):
        return "homepage"
    kind = _host_type(host) or _subdomain_type(host) or _path_type(segments)
    if kind in _REFINABLE:
        kind = _format_type(segments, title) or kind
    if kind:
        return kind
    if path.endswith(".pdf"):
        return "research"
    return "other"
