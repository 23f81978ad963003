from __future__ import annotations

import pytest

from monitor.analysis import (
    CONTENT_TYPES,
    LEGACY_CONTENT_TYPES,
    ContentRule,
    classify_url,
    rules_from_config,
)

URLS = (
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
        ("https://docs.acme.com/start", "documentation"),
        ("https://developer.acme.com/x", "documentation"),
        ("https://help.acme.com/x", "documentation"),
        ("https://acme.readthedocs.io/en/latest/", "documentation"),
        ("https://acme.com/docs/install", "documentation"),
        ("https://acme.com/documentation/x", "documentation"),
        ("https://acme.com/manual/x", "documentation"),
        ("https://acme.com/api/reference/widgets", "documentation"),
        ("https://acme.com/docs/manual.pdf", "documentation"),
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
        ("https://medium.com/@acme/post", "blog_post"),
        ("https://acme.substack.com/p/post", "blog_post"),
        ("https://blog.acme.com/post", "blog_post"),
        ("https://acme.com/blog/post", "blog_post"),
        ("https://acme.com/articles/x", "blog_post"),
        ("https://acme.com/insights/x", "blog_post"),
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
        # homepage: empty path, a language prefix, an index page; tracking or language queries only
        ("https://acme.com", "homepage"),
        ("https://www.acme.com/?utm_source=chatgpt.com", "homepage"),
        ("https://acme.com/?lang=zh&gclid=1", "homepage"),
        ("https://acme.com/en/", "homepage"),
        ("https://acme.com/zh-CN/", "homepage"),
        ("https://acme.com/pt_br", "homepage"),
        ("https://acme.com/es-419/", "homepage"),
        ("https://acme.com/zh-hans/index.html", "homepage"),
        ("https://acme.com/index.html", "homepage"),
        ("https://acme.com/index.php", "homepage"),
        ("https://acme.com/home", "homepage"),
        ("https://www.youtube.com/", "homepage"),  # a platform's front page too
        ("https://shop.acme.com/", "homepage"),
        ("https://acme.com/?p=123", "other"),  # a WordPress post, not the front page
        ("https://acme.com/ai/", "other"),  # a section, not a locale
        ("https://acme.com/en/about", "other"),
        ("https://acme.com/en/us/", "other"),
        # category: taxonomies and catalog listings
        ("https://acme.com/category/valves", "category"),
        ("https://acme.com/categories/", "category"),
        ("https://acme.com/collections/ball-valves", "category"),
        ("https://acme.com/c/valves", "category"),
        ("https://acme.com/tag/valves", "category"),
        ("https://acme.com/topics/valves", "category"),
        ("https://acme.com/blog/tag/valves", "category"),
        ("https://acme.com/products/", "category"),
        ("https://acme.com/products", "category"),
        ("https://acme.com/shop", "category"),
        ("https://acme.com/products/category/valves", "category"),
        ("https://acme.com/collections/valves/products/ball-valve-9", "product"),
        ("https://acme.com/products/widget-x", "product"),
        ("https://www.jd.com/x", "product"),
        ("https://detail.tmall.com/item.htm?id=1", "product"),
        ("https://acme.com/press/products/widget-x", "news"),
        # how_to from the URL
        ("https://acme.com/blog/how-to-choose-a-ball-valve", "how_to"),
        ("https://acme.com/howto/size-valves", "how_to"),
        ("https://acme.com/guides/valve-sizing", "how_to"),
        ("https://acme.com/ball-valve-buying-guide.html", "how_to"),
        ("https://acme.com/tutorial/valves", "how_to"),
        ("https://www.wikihow.com/Fix-a-Leaky-Valve", "how_to"),
        ("https://jingyan.baidu.com/article/1.html", "how_to"),
        ("https://acme.com/blog/%E5%A6%82%E4%BD%95%E9%80%89%E6%8B%A9%E7%90%83%E9%98%80", "how_to"),
        ("https://acme.com/docs/how-to-install", "documentation"),  # the medium wins
        ("https://acme.com/user-guide/install", "documentation"),
        # listicle from the URL
        ("https://acme.com/blog/top-10-valve-manufacturers", "listicle"),
        ("https://acme.com/top10-valves.html", "listicle"),
        ("https://acme.com/best-ball-valves-2024", "listicle"),
        ("https://acme.com/blog/the-best-crm-software", "listicle"),
        ("https://acme.com/blog/10-best-valves", "listicle"),
        ("https://acme.com/blog/7-ways-to-stop-leaks", "listicle"),
        ("https://acme.com/news/%E5%8D%81%E5%A4%A7%E9%98%80%E9%97%A8%E5%93%81%E7%89%8C", "listicle"),
        ("https://acme.com/blog/best-practices-for-valves", "blog_post"),
        # comparison from the URL
        ("https://acme.com/blog/acme-vs-apex", "comparison"),
        ("https://acme.com/compare/acme-apex", "comparison"),
        ("https://acme.com/acme-versus-apex", "comparison"),
        ("https://acme.com/blog/ball-valve-comparison", "comparison"),
        ("https://acme.com/apex-alternatives", "comparison"),
        ("https://acme.com/blog/alternative-to-apex", "comparison"),
        ("https://acme.com/blog/top-10-apex-alternatives", "comparison"),  # comparison before listicle
        ("https://acme.com/blog/vs-code-tips", "blog_post"),
        ("https://acme.com/%E7%90%83%E9%98%80%E4%B8%8E%E8%9D%B6%E9%98%80%E5%AF%B9%E6%AF%94", "comparison"),
        ("https://medium.com/@acme/acme-vs-apex", "comparison"),  # a platform's posts are refined too
        ("https://www.reuters.com/business/top-5-valve-makers", "listicle"),  # news is refined
        # the medium of other types wins over a format in the URL
        ("https://www.youtube.com/how-to-fix", "video"),
        ("https://www.reddit.com/r/valves/comments/1/acme_vs_apex", "forum"),
        ("https://acme.com/products/acme-vs-apex-kit", "product"),
        # Chinese hosts
        ("https://zhidao.baidu.com/question/1.html", "forum"),
        ("https://tieba.baidu.com/p/1", "forum"),
        ("https://baijiahao.baidu.com/s?id=1", "blog_post"),
        ("https://blog.csdn.net/u1/article/details/1", "blog_post"),
        ("https://www.jianshu.com/p/abc", "blog_post"),
        ("https://www.people.com.cn/n1/2024/x.html", "news"),
        ("https://www.news.cn/x.htm", "news"),
        ("https://36kr.com/p/1", "news"),
        ("https://www.ixigua.com/1", "video"),
        ("https://www.douban.com/group/topic/1", "social"),
        ("https://kns.cnki.net/kcms/detail", "research"),
        ("https://bbs.acme.com.cn/thread-1.html", "forum"),
        ("https://news.acme.com/x", "news"),
        ("https://support.acme.com/x", "documentation"),
        # host before path, subdomain before path
        ("https://www.reddit.com/r/x/blog/", "forum"),
        ("https://docs.acme.com/blog/x", "documentation"),
        # not amazon: the brand must be the registrable domain's first label
        ("https://amazonia.org/x", "other"),
        ("https://acme.com/about", "other"),
        ("https://acme.com/", "homepage"),
        ("not a url", "other"),
)


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_classify_url_heuristics(url: str, expected: str) -> None:
    assert expected in CONTENT_TYPES
    assert classify_url(url) == expected


TITLED = (
    # title signals refine blog posts, news and unclassified pages
    ("https://acme.com/blog/12345", "How to Choose a Ball Valve", "how_to"),
    ("https://acme.com/blog/12345", "Ball valves: how to size them", "how_to"),
    ("https://acme.com/blog/12345", "The Complete Guide to Ball Valves", "how_to"),
    ("https://acme.com/blog/12345", "Step-by-step valve maintenance", "how_to"),
    ("https://acme.com/blog/12345", "如何选择球阀", "how_to"),
    ("https://acme.com/blog/12345", "球阀怎么安装？", "how_to"),
    ("https://acme.com/a/1.html", "球阀选型指南", "how_to"),
    ("https://acme.com/a/1.html", "阀门安装教程", "how_to"),
    ("https://acme.com/blog/12345", "10 Best Ball Valves of 2024", "listicle"),
    ("https://acme.com/blog/12345", "Best ball valves for water", "listicle"),
    ("https://acme.com/blog/12345", "The Best CRM Software", "listicle"),
    ("https://acme.com/blog/12345", "Top 5 valve makers", "listicle"),
    ("https://acme.com/blog/12345", "7 ways to stop a leak", "listicle"),
    ("https://acme.com/a/1.html", "2024年十大阀门品牌排行榜", "listicle"),
    ("https://acme.com/a/1.html", "阀门品牌排名", "listicle"),
    ("https://acme.com/a/1.html", "5款高性价比球阀推荐", "listicle"),
    ("https://acme.com/a/1.html", "球阀的三大优势", "listicle"),
    ("https://acme.com/a/1.html", "阀门TOP10", "listicle"),
    ("https://acme.com/a/1.html", "哪个牌子的阀门比较好？十大品牌推荐", "listicle"),  # 比较 as "rather"
    ("https://acme.com/blog/12345", "Acme vs Apex: which is better?", "comparison"),
    ("https://acme.com/blog/12345", "Acme vs. Apex", "comparison"),
    ("https://acme.com/blog/12345", "Acme versus Apex", "comparison"),
    ("https://acme.com/blog/12345", "Comparing ball and gate valves", "comparison"),
    ("https://acme.com/blog/12345", "Ball valve comparison chart", "comparison"),
    ("https://acme.com/blog/12345", "Top 10 Apex Alternatives", "comparison"),  # comparison first
    ("https://acme.com/blog/12345", "The best alternative to Apex", "comparison"),
    ("https://acme.com/a/1.html", "球阀与蝶阀对比", "comparison"),
    ("https://acme.com/a/1.html", "球阀和闸阀的区别", "comparison"),
    ("https://acme.com/a/1.html", "球阀vs蝶阀", "comparison"),
    ("https://acme.com/a/1.html", "球阀和蝶阀哪个好", "comparison"),
    ("https://acme.com/a/1.html", "球阀性能比较", "comparison"),
    ("https://acme.com/a/1.html", "球阀比较", "comparison"),
    ("https://medium.com/@acme/1a2b", "如何选择球阀", "how_to"),
    ("https://www.163.com/dy/article/1.html", "十大阀门品牌", "listicle"),
    ("https://www.forbes.com/advisor/1", "10 Best CRM Software", "listicle"),
    # 10 Best ... and how to choose: listicle before how_to
    ("https://acme.com/blog/12345", "10 Best Ball Valves and How to Choose", "listicle"),
    # no format signal: the page keeps its type
    ("https://acme.com/blog/12345", "Best practices for valve upkeep", "blog_post"),
    ("https://acme.com/blog/12345", "Setting up VS Code for firmware", "blog_post"),
    ("https://acme.com/blog/12345", "Why our valves last", "blog_post"),
    ("https://acme.com/a/1.html", "这款阀门怎么样", "other"),  # 怎么样 asks "is it good"
    ("https://acme.com/a/1.html", "2024款球阀发布", "other"),  # a model year, not 2024 models
    ("https://acme.com/a/1.html", "一种新型球阀", "other"),  # "a new kind of valve"
    ("https://acme.com/a/1.html", "BV-9款球阀上市", "other"),  # a model name
    ("https://acme.com/a/1.html", "Top-notch service", "other"),
    ("https://acme.com/a/1.html", None, "other"),
    ("https://acme.com/a/1.html", "", "other"),
    # the URL speaks before the title
    ("https://acme.com/blog/how-to-pick-valves", "Acme vs Apex", "how_to"),
    ("https://acme.com/blog/acme-vs-apex", "How to choose", "comparison"),
    # a medium other than an article keeps its type whatever the title says
    ("https://www.youtube.com/watch?v=1", "How to fix a leaking valve", "video"),
    ("https://www.zhihu.com/question/1", "球阀和蝶阀哪个好？", "forum"),
    ("https://docs.acme.com/install", "How to install", "documentation"),
    ("https://acme.com/products/bv-9", "Best ball valve BV-9", "product"),
    ("https://acme.com/", "How to choose a valve | Acme", "homepage"),
    ("https://acme.com/category/valves", "Top 10 valves", "category"),
    # a title decides before the .pdf fallback
    ("https://acme.com/files/1.pdf", "How to install BV-9", "how_to"),
    ("https://acme.com/files/1.pdf", "BV-9 datasheet", "research"),
)


@pytest.mark.parametrize(("url", "title", "expected"), TITLED)
def test_classify_url_titles(url: str, title: str | None, expected: str) -> None:
    assert expected in CONTENT_TYPES
    assert classify_url(url, title=title) == expected


def test_every_type_is_reachable() -> None:
    # the tables above exercise every type
    from_urls = {expected for _, expected in URLS}
    from_titles = {expected for _, _, expected in TITLED}
    assert set(CONTENT_TYPES) <= from_urls | from_titles


def test_content_types_are_the_storage_identifiers() -> None:
    assert CONTENT_TYPES == (
        "homepage", "product", "category", "blog_post", "how_to", "listicle", "comparison",
        "research", "documentation", "video", "news", "forum", "social", "other",
    )
    assert dict(LEGACY_CONTENT_TYPES) == {"blog": "blog_post", "docs": "documentation"}
    assert set(LEGACY_CONTENT_TYPES.values()) <= set(CONTENT_TYPES)
    assert not set(LEGACY_CONTENT_TYPES) & set(CONTENT_TYPES)


RULES = (
    ContentRule(type="research", domain="acme.com", url_contains="/library/"),
    ContentRule(type="documentation", url_regex=r"/kb/\d+$"),
    ContentRule(type="video", domain="www.media.acme.com"),
    ContentRule(type="news", url_contains="Launch"),
    ContentRule(type="comparison", domain="apex.com", title_contains="Showdown"),
    ContentRule(type="listicle", title_regex=r"^\d+ 款"),
    ContentRule(type="product", title_contains="型号"),
)


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        ("https://acme.com/library/x", None, "research"),
        ("https://shop.acme.com/library/x", None, "research"),
        # both conditions must hold: the domain alone is not enough
        ("https://acme.com/blog/x", None, "blog_post"),
        ("https://other.com/library/x", None, "other"),
        ("https://other.com/KB/42", None, "documentation"),
        ("https://other.com/kb/42/more", None, "other"),
        ("https://media.acme.com/blog/x", None, "video"),
        # first matching rule wins, case-insensitive substring
        ("https://acme.com/library/launch", None, "research"),
        ("https://x.org/blog/launch-day", None, "news"),
        # rules run before the built-in heuristics
        ("https://www.youtube.com/launch", None, "news"),
        ("https://acme.com/", "型号 BV-9", "product"),
        # title conditions: case-insensitive, and never met by an untitled citation
        ("https://apex.com/blog/x", "The valve SHOWDOWN", "comparison"),
        ("https://apex.com/blog/x", None, "blog_post"),
        ("https://other.com/blog/x", "The valve showdown", "blog_post"),
        ("https://other.com/a/1", "10 款球阀", "listicle"),
        ("https://other.com/a/1", "BV-9 款式", "other"),
        ("https://other.com/a/1", "阀门型号大全", "product"),
        # a rule beats the title heuristics too
        ("https://other.com/blog/how-to-x", "阀门型号：how to choose", "product"),
    ],
)
def test_classify_url_rules(url: str, title: str | None, expected: str) -> None:
    assert classify_url(url, RULES, title) == expected


def test_rules_from_config_builds_rules() -> None:
    rules = rules_from_config(
        [
            {"type": "research", "domain": "acme.com", "url_contains": "/library/"},
            {"type": "documentation", "url_regex": r"/kb/\d+"},
            {"type": "how_to", "title_contains": "教程"},
            {"type": "listicle", "domain": "acme.com", "title_regex": r"^top \d+"},
        ]
    )
    assert rules == [
        ContentRule(type="research", domain="acme.com", url_contains="/library/"),
        ContentRule(type="documentation", url_regex=r"/kb/\d+"),
        ContentRule(type="how_to", title_contains="教程"),
        ContentRule(type="listicle", domain="acme.com", title_regex=r"^top \d+"),
    ]
    assert classify_url("https://acme.com/library/1", rules) == "research"
    assert classify_url("https://x.com/p/1", rules, "阀门安装教程") == "how_to"
    assert classify_url("https://acme.com/news/1", rules, "Top 3 valves") == "listicle"


@pytest.mark.parametrize(("old", "new"), sorted(LEGACY_CONTENT_TYPES.items()))
def test_legacy_type_names_still_configure(old: str, new: str) -> None:
    # configs written before the rename keep working, and yield the new name
    (rule,) = rules_from_config([{"type": old, "url_contains": "/kb/"}])
    assert rule == ContentRule(type=new, url_contains="/kb/")
    assert classify_url("https://acme.com/kb/1", [rule]) == new
    assert ContentRule(type=old, domain="acme.com").type == new


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "whitepaper", "domain": "acme.com"}, "unknown content type 'whitepaper'"),
        ({"type": "whitepaper", "domain": "acme.com"}, "homepage, product, category, blog_post"),
        ({"type": "whitepaper", "domain": "acme.com"}, "or the old names blog, docs"),
        ({"type": "Blog_Post", "domain": "acme.com"}, "unknown content type 'Blog_Post'"),
        ({"type": None, "domain": "acme.com"}, "unknown content type None"),
        ({"domain": "acme.com"}, "unknown content type None"),
        ({"type": "blog_post"}, "at least one of domain, url_contains, url_regex, title_contains, title_regex"),
        ({"type": "blog_post", "domain": ""}, "domain must be a non-empty string"),
        ({"type": "blog_post", "url_contains": 3}, "url_contains must be a non-empty string"),
        ({"type": "blog_post", "title_contains": " "}, "title_contains must be a non-empty string"),
        ({"type": "blog_post", "url_regex": "(unclosed"}, "url_regex '(unclosed' is invalid"),
        ({"type": "blog_post", "title_regex": "[x"}, "title_regex '[x' is invalid"),
        ({"type": "blog_post", "domain": "not a host"}, "is not a host name"),
        ({"type": "blog_post", "domian": "acme.com"}, "unknown key(s) 'domian'"),
        ({"type": "blog_post", "title": "x"}, "allowed: type, domain, url_contains, url_regex, title_contains"),
    ],
)
def test_rules_from_config_rejects(item: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="content rule #2") as info:
        rules_from_config([{"type": "blog", "domain": "ok.com"}, item])
    assert message in str(info.value)
