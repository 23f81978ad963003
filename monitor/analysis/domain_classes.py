"""Class of a cited domain: who publishes there, as opposed to what the page is.

Order, first answer wins:
  1. ownership (decided by `owner_of` from the configured entities): the
     brand's domains are "own", a competitor's "competitor";
  2. config rules (`DomainClassRule`): the most specific domain wins, so a
     rule for blog.acme.com beats one for acme.com whatever their order;
     for the same domain, the first rule;
  3. built-in host lists below, the most specific suffix first (baike.baidu.com
     is reference, zhidao.baidu.com ugc, baidu.com itself unlisted), then
     marketplaces with a site per country (amazon.*, ebay.*), Google Scholar,
     and government, military, academic and international-organisation
     suffixes (.gov, .edu, .mil, .int, gov.cn, edu.cn, ac.uk, gouv.fr, go.jp ...)
     as reference;
  4. the page's content type, for hosts nobody listed: a site whose cited
     page is a homepage, product, category or documentation page is run by a
     company selling or supporting something, so "corporate"; a forum or
     social page is "ugc". An article, a video or a news page says nothing
     about its publisher (a vendor's blog and an independent blog look alike),
     so those stay "other". This makes the class of an unlisted domain depend
     on the cited page: callers wanting one class per domain should prefer
     "corporate" when any of its pages says so.
  5. otherwise "other".

Pure and fast: hosts are looked up by their suffixes in dicts, never by
scanning the lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .content_types import LEGACY_CONTENT_TYPES, reject_unknown_keys
from .urls import config_domain_host, host_forms, host_of, registrable_domain, suffix_lookup

__all__ = ["DOMAIN_CLASSES", "DomainClassRule", "classify_domain", "domain_rules_from_config"]

DOMAIN_CLASSES = ("own", "competitor", "editorial", "ugc", "reference", "corporate", "other")

_OWNER_CLASSES = {"brand": "own", "competitor": "competitor"}
# own and competitor come from the entities' domains only: a rule saying so
# would disagree with the owner recorded for the same citation.
_RULE_CLASSES = tuple(c for c in DOMAIN_CLASSES if c not in _OWNER_CLASSES.values())

# class -> hosts (each with its subdomains); whitespace-separated to keep the lists short.
_HOSTS: tuple[tuple[str, str], ...] = (
    (
        "editorial",
        # news agencies, newspapers, business and tech press
        "reuters.com bloomberg.com apnews.com bbc.co.uk bbc.com cnn.com cnbc.com nytimes.com "
        "washingtonpost.com theguardian.com wsj.com ft.com economist.com forbes.com fortune.com "
        "businessinsider.com time.com newsweek.com usatoday.com npr.org axios.com theatlantic.com "
        "latimes.com nbcnews.com cbsnews.com abcnews.go.com foxnews.com independent.co.uk "
        "telegraph.co.uk scmp.com nikkei.com spiegel.de lemonde.fr hbr.org fastcompany.com inc.com "
        "entrepreneur.com techcrunch.com theverge.com wired.com arstechnica.com engadget.com "
        "zdnet.com cnet.com pcmag.com techradar.com tomsguide.com tomshardware.com venturebeat.com "
        # Chinese: state media, business and tech press, portals' news channels
        "xinhuanet.com news.cn people.com.cn chinadaily.com.cn cctv.com cgtn.com globaltimes.cn "
        "thepaper.cn caixin.com yicai.com jiemian.com 21jingji.com stcn.com cls.cn eastmoney.com "
        "36kr.com huxiu.com ifeng.com ithome.com tmtpost.com geekpark.net leiphone.com "
        "jiqizhixin.com sina.com.cn news.qq.com news.163.com news.sohu.com"
    ),
    (
        "ugc",
        # forums and Q&A, code and blog platforms, social, video, review sites
        "reddit.com quora.com stackoverflow.com stackexchange.com superuser.com serverfault.com "
        "news.ycombinator.com github.com github.io gitlab.com readthedocs.io gitbook.io "
        "medium.com substack.com dev.to hashnode.dev blogspot.com wordpress.com tumblr.com "
        "wikihow.com fandom.com linkedin.com twitter.com x.com facebook.com instagram.com "
        "threads.net pinterest.com youtube.com youtu.be vimeo.com tiktok.com twitch.tv "
        "trustpilot.com g2.com capterra.com getapp.com softwareadvice.com trustradius.com "
        "producthunt.com yelp.com tripadvisor.com glassdoor.com "
        # Chinese: Q&A, self-media (百家号, 头条号, 公众号), blogs, video, reviews
        "zhihu.com zhidao.baidu.com tieba.baidu.com jingyan.baidu.com baijiahao.baidu.com "
        "toutiao.com weixin.qq.com weibo.com xiaohongshu.com douban.com bilibili.com b23.tv "
        "douyin.com ixigua.com kuaishou.com csdn.net cnblogs.com jianshu.com juejin.cn "
        "segmentfault.com v2ex.com smzdm.com dianping.com guba.eastmoney.com blog.sina.com.cn"
    ),
    (
        "reference",
        # encyclopedias and dictionaries, standards bodies, scholarly literature
        "wikipedia.org wikimedia.org wiktionary.org wikidata.org britannica.com "
        "merriam-webster.com dictionary.com thesaurus.com collinsdictionary.com "
        "dictionary.cambridge.org oxfordlearnersdictionaries.com investopedia.com "
        "iso.org iec.ch ietf.org w3.org ieee.org ansi.org astm.org asme.org api.org din.de "
        "bsigroup.com cen.eu etsi.org arxiv.org doi.org researchgate.net semanticscholar.org "
        "sciencedirect.com springer.com nature.com jstor.org "
        # Chinese: 百度百科, 搜狗百科, 360百科, 快懂百科, MBA智库, 汉典, 知网, 万方, 工标网
        "baike.baidu.com baike.sogou.com baike.so.com baike.com wiki.mbalib.com zdic.net "
        "cnki.net wanfangdata.com.cn csres.com"
    ),
    (
        "corporate",
        # marketplaces and B2B directories: commercial pages of companies
        "alibaba.com aliexpress.com made-in-china.com globalsources.com 1688.com taobao.com "
        "tmall.com jd.com thomasnet.com indiamart.com tradeindia.com walmart.com etsy.com"
    ),
)
_HOST_CLASSES: dict[str, str] = {host: cls for cls, hosts in _HOSTS for host in hosts.split()}
# Marketplaces with one site per country (amazon.de, ebay.co.uk, ...).
_CORPORATE_BRANDS = frozenset({"amazon", "ebay"})
# Public-sector and academic suffixes: the TLD itself (whitehouse.gov, mit.edu)...
_REFERENCE_TLDS = frozenset({"gov", "edu", "mil", "int"})
# ... or the second level under a country code (gov.cn, edu.cn, ac.uk, gouv.fr, gob.mx, go.jp).
_REFERENCE_SECOND_LEVELS = frozenset({"gov", "edu", "mil", "ac", "gouv", "gob", "go"})

_CLASS_BY_CONTENT_TYPE = {
    "homepage": "corporate",
    "product": "corporate",
    "category": "corporate",
    "documentation": "corporate",
    "forum": "ugc",
    "social": "ugc",
}


@dataclass(frozen=True)
class DomainClassRule:
    """A config rule: ``domain`` and its subdomains are of class ``class_``."""

    domain: str
    class_: str

    def __post_init__(self) -> None:
        if self.class_ not in _RULE_CLASSES:
            hint = ""
            if self.class_ in _OWNER_CLASSES.values():
                hint = " (own and competitor come from the brand's and competitors' domains)"
            raise ValueError(
                f"class {self.class_!r} is not allowed{hint}; expected one of {', '.join(_RULE_CLASSES)}"
            )
        if config_domain_host(self.domain) is None:
            raise ValueError(f"domain {self.domain!r} is not a host name")


_RULE_KEYS = ("domain", "class")


def domain_rules_from_config(items: Iterable[Mapping[str, object]]) -> list[DomainClassRule]:
    """DomainClassRules from mappings like ``{"domain": "example.com", "class": "editorial"}``;
    ValueError names the rule and the field that is wrong."""
    rules: list[DomainClassRule] = []
    for index, item in enumerate(items, start=1):
        where = f"domain class rule #{index}"
        reject_unknown_keys(item, _RULE_KEYS, where)
        domain, cls = item.get("domain"), item.get("class")
        if not isinstance(domain, str) or not domain.strip():
            raise ValueError(f"{where}: domain must be a non-empty string, got {domain!r}")
        if not isinstance(cls, str):
            raise ValueError(f"{where}: class must be one of {', '.join(_RULE_CLASSES)}, got {cls!r}")
        try:
            rules.append(DomainClassRule(domain=domain, class_=cls))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return rules


@lru_cache(maxsize=64)  # called for every citation with the same few rules
def _rule_table(rules: tuple[DomainClassRule, ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for rule in rules:
        host = config_domain_host(rule.domain)
        if host is not None:
            for form in host_forms(host):
                table.setdefault(form, rule.class_)  # the first rule for a domain wins
    return table


def _builtin_class(host: str) -> str | None:
    found = suffix_lookup(host, _HOST_CLASSES)
    if found is not None:
        return found
    site = registrable_domain(host) or ""
    if site.split(".", 1)[0] in _CORPORATE_BRANDS:
        return "corporate"
    if host.startswith("scholar.google."):
        return "reference"
    labels = host.split(".")
    if labels[-1] in _REFERENCE_TLDS:
        return "reference"
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _REFERENCE_SECOND_LEVELS:
        return "reference"
    return None


def classify_domain(
    url_or_host: str,
    owner_kind: str | None,
    rules: Sequence[DomainClassRule] = (),
    content_type: str | None = None,
) -> str:
    """One of DOMAIN_CLASSES for the host of ``url_or_host``.

    ``owner_kind`` is the kind of the entity owning the URL ("brand",
    "competitor") or None; ``content_type`` is the cited page's type from
    `classify_url`, used only for hosts no rule or list knows.
    """
    if owner_kind is not None:
        try:
            return _OWNER_CLASSES[owner_kind]
        except KeyError:
            raise ValueError(
                f"owner_kind must be 'brand', 'competitor' or None, got {owner_kind!r}"
            ) from None
    host = host_of(url_or_host)
    if host is None:
        return "other"
    if rules:
        found = suffix_lookup(host, _rule_table(tuple(rules)))
        if found is not None:
            return found
    found = _builtin_class(host)
    if found is not None:
        return found
    if content_type is not None:
        content_type = LEGACY_CONTENT_TYPES.get(content_type, content_type)
    return _CLASS_BY_CONTENT_TYPE.get(content_type or "", "other")
