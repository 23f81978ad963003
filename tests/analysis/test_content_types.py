from __future__ import annotations

import pytest

from monitor.analysis import CONTENT_TYPES, ContentRule, classify_url, rules_from_config


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # video
        ("https://www.youtube.com/watch?v=abc", "video"),
        ("https://m.youtube.com/news/x", "video"),
        ("https://youtu.be/abc", "video"),
        ("https://vimeo.com/123", "video"),
        ("https://www.bilibili.com/video/BV1", "video"),
        ("https://www.tiktok.com/@acme/video/1", "video"),
        ("https://acme.com/video/demo", "video"),
        # forum
        ("https://www.reddit.com/r/widgets/comments/1", "forum"),
        ("https://www.quora.com/What-is-Acme", "forum"),
        ("https://www.zhihu.com/question/1", "forum"),
        ("https://stackoverflow.com/questions/1", "forum"),
        ("https://electronics.stackexchange.com/q/1", "forum"),
        ("https://forum.acme.com/some/thread", "forum"),
        ("https://community.acme.com/x", "forum"),
        ("https://acme.com/forum/thread-1", "forum"),
        ("https://acme.com/community/x", "forum"),
        ("https://discuss.acme.com/t/widget-sizes/1234", "forum"),
        ("https://acme.com/t/shirts", "other"),
        # social
        ("https://www.linkedin.com/company/acme", "social"),
        ("https://twitter.com/acme/status/1", "social"),
        ("https://x.com/acme", "social"),
        ("https://www.facebook.com/acme", "social"),
        ("https://www.instagram.com/acme", "social"),
        ("https://weibo.com/acme", "social"),
        ("https://mp.weixin.qq.com/s/abc", "social"),
        ("https://www.xiaohongshu.com/explore/1", "social"),
        # research
        ("https://arxiv.org/abs/2311.09735", "research"),
        ("https://doi.org/10.1145/1", "research"),
        ("https://www.researchgate.net/publication/1", "research"),
        ("https://pubmed.ncbi.nlm.nih.gov/1/", "research"),
        ("https://www.sciencedirect.com/science/article/pii/1", "research"),
        ("https://link.springer.com/article/1", "research"),
        ("https://www.nature.com/articles/1", "research"),
        ("https://ieeexplore.ieee.org/document/1", "research"),
        ("https://scholar.google.com/scholar?q=x", "research"),
        ("https://scholar.google.de/scholar?q=x", "research"),
        ("https://www.mit.edu/x", "research"),
        ("https://www.tsinghua.edu.cn/x", "research"),
        ("https://acme.com/whitepaper-2024", "research"),
        ("https://acme.com/research/widgets", "research"),
        ("https://acme.com/papers/x", "research"),
        ("https://acme.com/files/report.PDF", "research"),
        # docs
        ("https://docs.acme.com/start", "docs"),
        ("https://developer.acme.com/x", "docs"),
        ("https://help.acme.com/x", "docs"),
        ("https://acme.readthedocs.io/en/latest/", "docs"),
        ("https://acme.com/docs/install", "docs"),
        ("https://acme.com/documentation/x", "docs"),
        ("https://acme.com/manual/x", "docs"),
        ("https://acme.com/api/reference/widgets", "docs"),
        ("https://acme.com/docs/manual.pdf", "docs"),
        # news
        ("https://www.reuters.com/business/x", "news"),
        ("https://www.bbc.co.uk/news/x", "news"),
        ("https://www.bbc.com/x", "news"),
        ("https://www.forbes.com/sites/x", "news"),
        ("https://techcrunch.com/2024/x", "news"),
        ("https://www.chinadaily.com.cn/a/x", "news"),
        ("https://acme.com/news/launch", "news"),
        ("https://acme.com/press/launch", "news"),
        ("https://acme.com/press-release-widgets", "news"),
        # blog
        ("https://medium.com/@acme/post", "blog"),
        ("https://acme.substack.com/p/post", "blog"),
        ("https://blog.acme.com/post", "blog"),
        ("https://acme.com/blog/post", "blog"),
        ("https://acme.com/articles/x", "blog"),
        ("https://acme.com/insights/x", "blog"),
        # product
        ("https://www.amazon.com/dp/B0", "product"),
        ("https://www.amazon.co.uk/dp/B0", "product"),
        ("https://www.ebay.de/itm/1", "product"),
        ("https://www.alibaba.com/product-detail/x", "product"),
        ("https://www.aliexpress.com/item/1.html", "product"),
        ("https://www.made-in-china.com/x", "product"),
        ("https://www.globalsources.com/x", "product"),
        ("https://acme.com/products/widget-9", "product"),
        ("https://acme.com/shop/x", "product"),
        ("https://acme.com/p/123", "product"),
        ("https://acme.com/catalog/x", "product"),
        # host before path, subdomain before path
        ("https://www.reddit.com/r/x/blog/", "forum"),
        ("https://docs.acme.com/blog/x", "docs"),
        # not amazon: the brand must be the registrable domain's first label
        ("https://amazonia.org/x", "other"),
        ("https://acme.com/about", "other"),
        ("https://acme.com/", "other"),
        ("not a url", "other"),
    ],
)
def test_classify_url_heuristics(url: str, expected: str) -> None:
    assert expected in CONTENT_TYPES
    assert classify_url(url) == expected


RULES = (
    ContentRule(type="research", domain="acme.com", url_contains="/library/"),
    ContentRule(type="docs", url_regex=r"/kb/\d+$"),
    ContentRule(type="video", domain="www.media.acme.com"),
    ContentRule(type="news", url_contains="Launch"),
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.com/library/x", "research"),
        ("https://shop.acme.com/library/x", "research"),
        # both conditions must hold: the domain alone is not enough
        ("https://acme.com/blog/x", "blog"),
        ("https://other.com/library/x", "other"),
        ("https://other.com/KB/42", "docs"),
        ("https://other.com/kb/42/more", "other"),
        ("https://media.acme.com/blog/x", "video"),
        # first matching rule wins, case-insensitive substring
        ("https://acme.com/library/launch", "research"),
        ("https://x.org/blog/launch-day", "news"),
        # rules run before the built-in heuristics
        ("https://www.youtube.com/launch", "news"),
    ],
)
def test_classify_url_rules(url: str, expected: str) -> None:
    assert classify_url(url, RULES) == expected


def test_rules_from_config_builds_rules() -> None:
    rules = rules_from_config(
        [
            {"type": "research", "domain": "acme.com", "url_contains": "/library/"},
            {"type": "docs", "url_regex": r"/kb/\d+"},
        ]
    )
    assert rules == [
        ContentRule(type="research", domain="acme.com", url_contains="/library/"),
        ContentRule(type="docs", url_regex=r"/kb/\d+"),
    ]
    assert classify_url("https://acme.com/library/1", rules) == "research"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "whitepaper", "domain": "acme.com"}, "unknown content type 'whitepaper'"),
        ({"type": None, "domain": "acme.com"}, "unknown content type None"),
        ({"domain": "acme.com"}, "unknown content type None"),
        ({"type": "blog"}, "at least one of"),
        ({"type": "blog", "domain": ""}, "domain must be a non-empty string"),
        ({"type": "blog", "url_contains": 3}, "url_contains must be a non-empty string"),
        ({"type": "blog", "url_regex": "(unclosed"}, "url_regex '(unclosed' is invalid"),
        ({"type": "blog", "domain": "not a host"}, "is not a host name"),
        ({"type": "blog", "domian": "acme.com"}, "unknown key(s) 'domian'"),
    ],
)
def test_rules_from_config_rejects(item: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="content rule #2") as info:
        rules_from_config([{"type": "blog", "domain": "ok.com"}, item])
    assert message in str(info.value)
