from __future__ import annotations

import pytest

from monitor.analysis import (
    DOMAIN_CLASSES,
    DomainClassRule,
    classify_domain,
    classify_url,
    domain_rules_from_config,
)

BUILT_IN = (
    # editorial
    ("https://www.reuters.com/business/x", "editorial"),
    ("https://www.bbc.co.uk/news/x", "editorial"),
    ("https://www.forbes.com/advisor/x", "editorial"),
    ("https://techcrunch.com/2024/x", "editorial"),
    ("abcnews.go.com", "editorial"),
    ("http://www.xinhuanet.com/x", "editorial"),
    ("https://www.news.cn/x", "editorial"),
    ("http://finance.people.com.cn/n1/x.html", "editorial"),
    ("https://36kr.com/p/1", "editorial"),
    ("https://www.thepaper.cn/x", "editorial"),
    ("https://finance.sina.com.cn/x", "editorial"),
    ("https://news.qq.com/x", "editorial"),
    # ugc: forums, Q&A, social, video, blog platforms, review sites
    ("https://www.reddit.com/r/valves/comments/1", "ugc"),
    ("https://www.quora.com/x", "ugc"),
    ("https://electronics.stackexchange.com/q/1", "ugc"),
    ("https://news.ycombinator.com/item?id=1", "ugc"),  # not editorial despite news.
    ("https://medium.com/@acme/x", "ugc"),
    ("https://acme.substack.com/p/x", "ugc"),
    ("https://acme.github.io/x", "ugc"),
    ("https://www.youtube.com/watch?v=1", "ugc"),
    ("https://www.linkedin.com/pulse/x", "ugc"),
    ("https://x.com/acme", "ugc"),
    ("https://www.g2.com/products/acme/reviews", "ugc"),
    ("https://www.trustpilot.com/review/acme.com", "ugc"),
    ("https://www.zhihu.com/question/1", "ugc"),
    ("https://zhuanlan.zhihu.com/p/1", "ugc"),
    ("https://zhidao.baidu.com/question/1.html", "ugc"),
    ("https://tieba.baidu.com/p/1", "ugc"),
    ("https://baijiahao.baidu.com/s?id=1", "ugc"),
    ("https://mp.weixin.qq.com/s/abc", "ugc"),
    ("https://www.xiaohongshu.com/explore/1", "ugc"),
    ("https://www.bilibili.com/video/BV1", "ugc"),
    ("https://blog.csdn.net/u/article/details/1", "ugc"),
    ("https://www.toutiao.com/article/1", "ugc"),
    ("https://blog.sina.com.cn/s/blog_1.html", "ugc"),  # more specific than sina.com.cn
    ("https://guba.eastmoney.com/news,1.html", "ugc"),  # more specific than eastmoney.com
    # reference: encyclopedias, dictionaries, standards, literature, public sector, academia
    ("https://en.wikipedia.org/wiki/Ball_valve", "reference"),
    ("https://zh.wikipedia.org/wiki/球阀", "reference"),
    ("https://www.britannica.com/technology/valve", "reference"),
    ("https://www.merriam-webster.com/dictionary/valve", "reference"),
    ("https://dictionary.cambridge.org/dictionary/english/valve", "reference"),
    ("https://www.iso.org/standard/1.html", "reference"),
    ("https://www.api.org/products-and-services/standards", "reference"),
    ("https://www.w3.org/TR/x", "reference"),
    ("https://arxiv.org/abs/1", "reference"),
    ("https://baike.baidu.com/item/球阀", "reference"),
    ("https://baike.sogou.com/v1.htm", "reference"),
    ("https://kns.cnki.net/kcms/detail", "reference"),
    ("https://www.nist.gov/x", "reference"),
    ("https://www.energy.gov/x", "reference"),
    ("https://www.mit.edu/x", "reference"),
    ("https://cs.stanford.edu/x", "reference"),
    ("https://www.who.int/x", "reference"),
    ("https://www.gov.uk/guidance/x", "reference"),
    ("https://www.ox.ac.uk/x", "reference"),
    ("https://www.gov.cn/zhengce/x", "reference"),
    ("https://www.samr.gov.cn/x", "reference"),
    ("https://www.tsinghua.edu.cn/x", "reference"),
    ("https://www.economie.gouv.fr/x", "reference"),
    ("https://www.meti.go.jp/x", "reference"),
    ("https://scholar.google.de/scholar?q=x", "reference"),
    # corporate: marketplaces and B2B directories
    ("https://www.amazon.com/dp/B0", "corporate"),
    ("https://www.amazon.co.uk/dp/B0", "corporate"),
    ("https://www.ebay.de/itm/1", "corporate"),
    ("https://www.alibaba.com/product-detail/x", "corporate"),
    ("https://acme.en.alibaba.com/", "corporate"),
    ("https://www.made-in-china.com/x", "corporate"),
    ("https://detail.1688.com/offer/1.html", "corporate"),
    ("https://item.jd.com/1.html", "corporate"),
    # not listed, and no page type to go by
    ("https://acme.com/x", "other"),
    ("https://www.baidu.com/s?wd=x", "other"),
    ("https://amazonia.org/x", "other"),
    ("https://notwikipedia.org/x", "other"),
    ("https://foo.ac/x", "other"),  # .ac is a country, not "academic" under one
    ("https://go.com/x", "other"),
    ("not a url", "other"),
    ("", "other"),
)


@pytest.mark.parametrize(("url_or_host", "expected"), BUILT_IN)
def test_built_in_classes(url_or_host: str, expected: str) -> None:
    assert expected in DOMAIN_CLASSES
    assert classify_domain(url_or_host, None) == expected


@pytest.mark.parametrize(
    "url_or_host",
    ["baike.baidu.com", "www.zhihu.com", "https://WWW.Reuters.com", "reuters.com.", "reuters.com/x"],
)
def test_hosts_and_urls_alike(url_or_host: str) -> None:
    assert classify_domain(url_or_host, None) != "other"


def test_unicode_and_punycode_hosts() -> None:
    rules = [DomainClassRule("例子.公司", "editorial")]
    assert classify_domain("https://www.例子.公司/x", None, rules) == "editorial"
    assert classify_domain("https://www.xn--fsqu00a.xn--55qx5d/x", None, rules) == "editorial"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("homepage", "corporate"),
        ("product", "corporate"),
        ("category", "corporate"),
        ("documentation", "corporate"),
        ("docs", "corporate"),  # a legacy name still counts
        ("forum", "ugc"),
        ("social", "ugc"),
        ("blog_post", "other"),
        ("how_to", "other"),
        ("listicle", "other"),
        ("comparison", "other"),
        ("news", "other"),
        ("video", "other"),
        ("research", "other"),
        ("other", "other"),
        (None, "other"),
    ],
)
def test_content_type_decides_for_unlisted_hosts(content_type: str | None, expected: str) -> None:
    assert classify_domain("https://valves-inc.com/x", None, content_type=content_type) == expected


def test_content_type_never_overrides_a_listed_host() -> None:
    assert classify_domain("https://www.reuters.com/", None, content_type="homepage") == "editorial"
    assert classify_domain("https://www.youtube.com/", None, content_type="homepage") == "ugc"
    assert classify_domain("https://www.gov.cn/", None, content_type="homepage") == "reference"


def test_with_classify_url() -> None:
    # the intended use: the page type of the same URL feeds the domain class
    for url, expected in [
        ("https://valves-inc.com/", "corporate"),
        ("https://valves-inc.com/products/bv-9", "corporate"),
        ("https://docs.valves-inc.com/install", "corporate"),
        ("https://forum.valves-inc.com/thread-1", "ugc"),
        ("https://valves-inc.com/blog/how-to-x", "other"),
    ]:
        assert classify_domain(url, None, content_type=classify_url(url)) == expected


RULES = (
    DomainClassRule("acme-news.com", "editorial"),
    DomainClassRule("blog.valves-inc.com", "ugc"),
    DomainClassRule("valves-inc.com", "corporate"),
    DomainClassRule("valves-inc.com", "reference"),  # same domain again: the first rule wins
    DomainClassRule("www.medium.com", "editorial"),  # www. is dropped, as in every config domain
    DomainClassRule("wikipedia.org", "other"),
)


@pytest.mark.parametrize(
    ("url", "owner_kind", "content_type", "expected"),
    [
        # ownership wins over everything
        ("https://valves-inc.com/x", "brand", None, "own"),
        ("https://valves-inc.com/x", "competitor", None, "competitor"),
        ("https://www.reuters.com/x", "brand", None, "own"),
        ("https://www.reddit.com/r/acme", "competitor", "forum", "competitor"),
        ("not a url", "brand", None, "own"),
        # then rules, the most specific domain first, whatever the order
        ("https://acme-news.com/x", None, "homepage", "editorial"),
        ("https://eu.acme-news.com/x", None, None, "editorial"),
        ("https://blog.valves-inc.com/x", None, None, "ugc"),
        ("https://valves-inc.com/x", None, None, "corporate"),
        ("https://shop.valves-inc.com/x", None, None, "corporate"),
        # rules beat the built-in lists
        ("https://medium.com/@x/y", None, None, "editorial"),
        ("https://en.wikipedia.org/wiki/X", None, None, "other"),
        # and the lists still apply to hosts no rule names
        ("https://www.reuters.com/x", None, None, "editorial"),
        ("https://baike.baidu.com/item/x", None, None, "reference"),
        ("https://unlisted.com/", None, "homepage", "corporate"),
    ],
)
def test_precedence(url: str, owner_kind: str | None, content_type: str | None, expected: str) -> None:
    assert classify_domain(url, owner_kind, RULES, content_type) == expected
    assert classify_domain(url, owner_kind, list(RULES), content_type) == expected


def test_bad_owner_kind() -> None:
    with pytest.raises(ValueError, match="owner_kind must be 'brand', 'competitor' or None, got 'own'"):
        classify_domain("acme.com", "own")


def test_domain_rules_from_config_builds_rules() -> None:
    rules = domain_rules_from_config(
        [
            {"domain": "example.com", "class": "editorial"},
            {"domain": "https://www.valves-inc.com/", "class": "corporate"},
            {"domain": "博客.中国", "class": "ugc"},
        ]
    )
    assert rules == [
        DomainClassRule("example.com", "editorial"),
        DomainClassRule("https://www.valves-inc.com/", "corporate"),
        DomainClassRule("博客.中国", "ugc"),
    ]
    assert classify_domain("https://news.example.com/a", None, rules) == "editorial"
    assert classify_domain("valves-inc.com", None, rules) == "corporate"
    assert classify_domain("https://www.博客.中国/x", None, rules) == "ugc"
    assert domain_rules_from_config([]) == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"class": "editorial"}, "domain must be a non-empty string, got None"),
        ({"domain": " ", "class": "editorial"}, "domain must be a non-empty string"),
        ({"domain": 3, "class": "editorial"}, "domain must be a non-empty string, got 3"),
        ({"domain": "not a host", "class": "editorial"}, "domain 'not a host' is not a host name"),
        ({"domain": "x.com"}, "class must be one of editorial, ugc, reference, corporate, other, got None"),
        ({"domain": "x.com", "class": 1}, "class must be one of"),
        ({"domain": "x.com", "class": "news"}, "class 'news' is not allowed; expected one of editorial, ugc"),
        ({"domain": "x.com", "class": "Editorial"}, "class 'Editorial' is not allowed"),
        ({"domain": "x.com", "class": "own"}, "own and competitor come from the brand's and competitors' domains"),
        ({"domain": "x.com", "class": "competitor"}, "class 'competitor' is not allowed"),
        ({"domain": "x.com", "class_": "ugc"}, "unknown key(s) 'class_'; allowed: domain, class"),
        ({"domain": "x.com", "class": "ugc", "type": "forum"}, "unknown key(s) 'type'"),
    ],
)
def test_domain_rules_from_config_rejects(item: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="domain class rule #2") as info:
        domain_rules_from_config([{"domain": "ok.com", "class": "ugc"}, item])
    assert message in str(info.value)


def test_rule_checks_itself() -> None:
    with pytest.raises(ValueError, match="class 'own' is not allowed"):
        DomainClassRule("x.com", "own")
    with pytest.raises(ValueError, match="is not a host name"):
        DomainClassRule("", "ugc")


def test_every_class_is_reachable() -> None:
    reached = {expected for _, expected in BUILT_IN} | {"own", "competitor"}
    assert reached == set(DOMAIN_CLASSES)
