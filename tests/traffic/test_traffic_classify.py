"""The classifier's tables (every AI source, bot purposes, verification against published ranges), page views,
other bots, the raw-line prefilter, visits across the 30-minute boundary, range files and GA4 exports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.traffic.base import Hit
from monitor.traffic.classify import (
    PURPOSES,
    Classifier,
    VisitCounter,
    load_bot_ranges,
    referrer_host,
)
from monitor.traffic.formats import make_parser
from monitor.traffic.ga4 import Ga4FormatError, read_ga4_csv
from tests.conftest import realdata

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
DATA = Path(__file__).resolve().parents[2] / "monitor" / "traffic" / "data"
CONTRACT_IDS = {"chatgpt", "perplexity", "gemini", "copilot", "claude", "deepseek", "you", "poe", "grok", "meta_ai",
                "doubao", "kimi", "qwen", "yuanbao", "ernie", "mistral", "phind"}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


def hit(path: str = "/", status: int = 200, method: str = "GET", content_type: str = "") -> Hit:
    return Hit(datetime(2026, 1, 1, tzinfo=UTC), "1.2.3.4", method, path, "", status, "", "ua", "",
               content_type)


# --- referral sources ---------------------------------------------------------------------------------------

def test_the_issue_source_ids_are_all_there(classifier: Classifier) -> None:
    assert CONTRACT_IDS <= set(classifier.sources)


@pytest.mark.parametrize(("referrer", "source"), [
    ("https://chatgpt.com/", "chatgpt"), ("https://chat.openai.com/c/abc", "chatgpt"),
    ("android-app://com.openai.chatgpt/", "chatgpt"),
    ("https://www.perplexity.ai/search/valves-xyz", "perplexity"), ("https://perplexity.ai/", "perplexity"),
    ("https://gemini.google.com/app", "gemini"), ("https://bard.google.com/", "gemini"),
    ("https://copilot.microsoft.com/", "copilot"), ("https://edgeservices.bing.com/edgesvc/chat", "copilot"),
    ("https://claude.ai/chat/1", "claude"), ("https://chat.deepseek.com/", "deepseek"),
    ("https://you.com/search", "you"),
    ("https://www.phind.com/", "phind"), ("https://poe.com/ChatGPT", "poe"), ("https://grok.com/", "grok"),
    ("https://www.meta.ai/", "meta_ai"), ("https://www.doubao.com/chat/", "doubao"), ("https://doubao.com/", "doubao"),
    ("https://kimi.moonshot.cn/chat/x", "kimi"), ("https://www.kimi.com/", "kimi"),
    ("https://tongyi.aliyun.com/qianwen/", "qwen"), ("https://qianwen.aliyun.com/", "qwen"),
    ("https://chat.qwen.ai/", "qwen"), ("https://yuanbao.tencent.com/chat", "yuanbao"),
    ("https://yiyan.baidu.com/", "ernie"), ("https://chat.mistral.ai/chat", "mistral"),
    ("HTTPS://ChatGPT.COM:443/", "chatgpt"),
])
def test_referrer_hosts_and_subdomains(classifier: Classifier, referrer: str, source: str) -> None:
    assert classifier.referral_source(referrer, "") == source


@pytest.mark.parametrize("referrer", [
    "https://www.google.com/", "https://google.com/search?q=chatgpt.com", "https://notchatgpt.com/",
    "https://chatgpt.com.evil.example/", "https://x.com/i/grok", "https://www.baidu.com/", "-", "",
    "https://example.com/?ref=https://claude.ai/",
])
def test_lookalikes_and_ordinary_referrers_are_not_ai(classifier: Classifier, referrer: str) -> None:
    assert classifier.referral_source(referrer, "") is None


@pytest.mark.parametrize(("query", "source"), [
    ("utm_source=chatgpt.com", "chatgpt"), ("a=1&utm_source=perplexity&utm_medium=x", "perplexity"),
    ("utm_source=copilot.com", "copilot"), ("utm_source=ChatGPT.com", "chatgpt"), ("utm_source=openai", "chatgpt"),
    ("utm_source=www.perplexity.ai", "perplexity"), ("utm_source=newsletter", None), ("xutm_source=chatgpt.com", None),
])
def test_utm_source_values(classifier: Classifier, query: str, source: str | None) -> None:
    assert classifier.referral_source("", query) == source


def test_referrer_wins_over_utm_and_config_extends_both() -> None:
    extended = Classifier(referrers={"assistant.example.ai": "acme_ai", "acmebot": "acme_ai"})
    assert extended.referral_source("https://eu.assistant.example.ai/x", "") == "acme_ai"
    assert extended.referral_source("", "utm_source=acmebot") == "acme_ai"
    assert extended.referral_source("https://claude.ai/", "utm_source=acmebot") == "claude"


def test_source_id_maps_analytics_source_names(classifier: Classifier) -> None:
    assert classifier.source_id("chatgpt.com") == "chatgpt"
    assert classifier.source_id("perplexity") == "perplexity"
    assert classifier.source_id("google") is None


def test_referrer_host_shapes() -> None:
    assert referrer_host("https://user@www.Claude.ai:8443/p?q#f") == "www.claude.ai"
    assert referrer_host("www.example.com/path") == "www.example.com"
    assert referrer_host("//cdn.example.org/x") == "cdn.example.org"


# --- bots --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("agent", "token", "purpose", "operator"), [
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)",
     "GPTBot", "training", "OpenAI"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot",
     "OAI-SearchBot", "search", "OpenAI"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
     "ChatGPT-User", "user_fetch", "OpenAI"),
    ("Mozilla/5.0 (compatible; ChatGPT Agent)", "ChatGPT Agent", "agent", "OpenAI"),
    ("Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", "PerplexityBot", "search",
     "Perplexity"),
    ("Mozilla/5.0 (compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)", "Perplexity-User",
     "user_fetch", "Perplexity"),
    ("Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "ClaudeBot", "training", "Anthropic"),
    ("Mozilla/5.0 (compatible; Claude-SearchBot/1.0)", "Claude-SearchBot", "search", "Anthropic"),
    ("Mozilla/5.0 (compatible; Claude-User/1.0; +Claude-User@anthropic.com)", "Claude-User", "user_fetch", "Anthropic"),
    ("Mozilla/5.0 (Linux; Android 5.0) (compatible; Bytespider; spider-feedback@bytedance.com)", "Bytespider",
     "training", "ByteDance"),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", "CCBot", "training", "Common Crawl"),
    ("meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
     "Meta-ExternalAgent", "training", "Meta"),
    ("Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)", "Amazonbot",
     "search", "Amazon"),
    ("Mozilla/5.0 (compatible; Google-CloudVertexBot; +https://cloud.google.com)", "Google-CloudVertexBot", "other",
     "Google"),
    ("Mozilla/5.0 (compatible; mistralai-user/1.0)", "MistralAI-User", "user_fetch", "Mistral AI"),
])
def test_bot_tokens_purposes_and_operators(classifier: Classifier, agent: str, token: str, purpose: str,
                                          operator: str) -> None:
    assert tuple(classifier.bot(agent)) == (token, operator, purpose)


@pytest.mark.parametrize("agent", [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 Google-Extended",  # a robots.txt token only: never matched in a user agent
    "Mozilla/5.0 Code/1.90.0 Chrome/122 Electron/29",  # VS Code, not the "Code" agent
    "Mozilla/5.0 (compatible; NotGPTBot/1.0)", "Mozilla/5.0 (compatible; GPTBotty/1.0)", "",
])
def test_not_ai_bots(classifier: Classifier, agent: str) -> None:
    assert classifier.bot(agent) is None


def test_every_bot_has_a_known_purpose_and_the_data_files_name_source_and_date() -> None:
    bots = yaml.safe_load((DATA / "ai_bots.yaml").read_text(encoding="utf-8"))
    assert {entry["purpose"] for entry in bots["bots"].values()} <= set(PURPOSES)
    assert bots["bots"]["Google-Extended"]["in_user_agent"] is False
    assert "never" in bots["bots"]["Google-Extended"]["note"]
    for name in ("ai_bots.yaml", "ai_referrers.yaml"):
        doc = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
        assert doc["source"] and date.fromisoformat(doc["date"])
    ranges = json.loads((DATA / "bot_ranges.json").read_text(encoding="utf-8"))
    assert date.fromisoformat(ranges["generated"]) and set(ranges["sources"]) == set(ranges["ranges"])


def test_config_bots_extend_and_bad_purposes_are_refused() -> None:
    extended = Classifier(bots={"AcmeCrawler": "training", "AcmeFetch": {"purpose": "user_fetch", "operator": "Acme"}})
    assert tuple(extended.bot("AcmeCrawler/2.0")) == ("AcmeCrawler", "unknown", "training")
    assert extended.bot("x AcmeFetch/1").operator == "Acme"
    with pytest.raises(ValueError, match="purpose"):
        Classifier(bots={"X": "scraping"})


def test_every_bot_in_the_real_ai_robots_list_is_recognised_by_name(classifier: Classifier) -> None:
    robots = json.loads((realdata("ai_agents") / "ai_robots_txt_robots.json").read_text(encoding="utf-8"))
    skipped = {t for t, e in yaml.safe_load((DATA / "ai_bots.yaml").read_text(encoding="utf-8"))["bots"].items()
               if e.get("in_user_agent") is False}
    for token in robots:
        base = token.split("/")[0].removesuffix(" 1.0")
        if base in skipped:
            continue
        found = classifier.bot(f"Mozilla/5.0 (compatible; {token}; +https://example.com)")
        assert found is not None and found.token.lower() == base.lower(), token


# --- verification ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("token", "ip", "result"), [
    ("GPTBot", "20.171.206.10", "verified"), ("GPTBot", "203.0.113.9", "spoofed"),
    ("GPTBot", "40.83.2.64", "spoofed"),  # GPTBot's 2023 address, no longer in OpenAI's list
    ("ChatGPT-User", "23.98.142.180", "verified"), ("ChatGPT-User", "23.98.142.192", "spoofed"),
    ("OAI-SearchBot", "51.8.102.7", "verified"), ("PerplexityBot", "3.224.62.45", "verified"),
    ("PerplexityBot", "3.224.62.46", "spoofed"), ("Perplexity-User", "18.97.43.85", "verified"),
    ("ClaudeBot", "3.129.26.230", "unverifiable"), ("Bytespider", "1.2.3.4", "unverifiable"),
    ("GPTBot", "::ffff:20.171.206.10", "verified"), ("GPTBot", "2001:db8::1", "spoofed"),
    ("GPTBot", "crawl.example.net", "unverifiable"), ("gptbot", "20.171.207.255", "verified"),
])
def test_verify_against_published_ranges(classifier: Classifier, token: str, ip: str, result: str) -> None:
    assert classifier.verify(token, ip) == result


def test_ranges_given_in_config_replace_the_packaged_ones() -> None:
    custom = Classifier(bot_ranges={"ranges": {"ClaudeBot": ["160.79.104.0/23"], "GPTBot": ["198.51.100.0/24"]}})
    assert custom.verify("ClaudeBot", "160.79.105.1") == "verified"
    assert custom.verify("ClaudeBot", "3.129.26.230") == "spoofed"
    assert custom.verify("GPTBot", "20.171.206.10") == "spoofed"


def test_load_bot_ranges_reads_the_operator_shapes(tmp_path: Path) -> None:
    openai = tmp_path / "gptbot.json"
    openai.write_text(json.dumps({"creationTime": "2026-01-01T00:00:00.000000", "prefixes": [
        {"ipv4Prefix": "20.171.206.0/24"}, {"ipv6Prefix": "2a01:111:f403::/48"}]}))
    assert load_bot_ranges(openai) == ["20.171.206.0/24", "2a01:111:f403::/48"]
    google = tmp_path / "googlebot.json"
    google.write_text(json.dumps({"creationTime": "x", "prefixes": [{"ipv6Prefix": "2001:4860:4801:10::/64"},
                                                                    {"ipv4Prefix": "66.249.64.0/27"}]}))
    assert load_bot_ranges(google) == ["2001:4860:4801:10::/64", "66.249.64.0/27"]
    text = tmp_path / "ranges.txt"
    text.write_text("# ClaudeBot\n160.79.104.0/23  # main\n\n2607:6bc0::/48\n")
    assert load_bot_ranges(text) == ["160.79.104.0/23", "2607:6bc0::/48"]
    bad = tmp_path / "bad.txt"
    bad.write_text("not-an-ip\n")
    with pytest.raises(ValueError, match="not-an-ip"):
        load_bot_ranges(bad)
    packaged = load_bot_ranges(DATA / "bot_ranges.json", token="GPTBot")
    assert packaged and all("/" in cidr for cidr in packaged)
    # ranges given for a bot (as update-bot-ranges stores them) make it verifiable; the packaged ones stay
    given = Classifier(bot_ranges={"ranges": {"ClaudeBot": load_bot_ranges(text)}})
    assert given.verify("ClaudeBot", "2607:6bc0::10") == "verified"
    assert given.verify("ClaudeBot", "1.2.3.4") == "spoofed"
    assert given.verify("GPTBot", "20.171.206.5") == "verified"


# --- page views, other bots ------------------------------------------------------------------------------

@pytest.mark.parametrize(("h", "page"), [
    (hit("/"), True), (hit("/products/ball-valve"), True), (hit("/index.html"), True), (hit("/a.php"), True),
    (hit("/Default.aspx"), True), (hit("/docs/v1.2"), True), (hit("/app.css"), False), (hit("/app.js"), False),
    (hit("/logo.PNG"), False), (hit("/favicon.ico"), False), (hit("/font.woff2"), False), (hit("/feed.xml"), False),
    (hit("/api/data.json"), False), (hit("/img/a.svg"), False), (hit("/", status=404), False),
    (hit("/", status=301), True), (hit("/", status=500), False), (hit("/", method="POST"), False),
    (hit("/", method="HEAD"), False), (hit("/api/data", content_type="application/json"), False),
    (hit("/page.css", content_type="text/html; charset=utf-8"), True),
])
def test_page_views(classifier: Classifier, h: Hit, page: bool) -> None:
    assert classifier.is_page_view(h) is page


def test_page_extensions_can_be_extended() -> None:
    assert not Classifier().is_page_view(hit("/catalogue.pdf"))
    assert Classifier(page_extensions=[".pdf"]).is_page_view(hit("/catalogue.pdf"))


@pytest.mark.parametrize(("agent", "bot"), [
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True), ("curl/8.5.0", True),
    ("python-requests/2.31.0", True), ("Go-http-client/1.1", True), ("Mozilla/5.0 (compatible; AhrefsBot/7.0)", True),
    ("", True), ("-", False),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148", False),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
     "Safari/537.36", False),
])
def test_other_bots(classifier: Classifier, agent: str, bot: bool) -> None:
    assert classifier.is_other_bot(agent) is bot


def test_fixture_classification_end_to_end(classifier: Classifier) -> None:
    parser = make_parser("combined")
    lines = (FIXTURES / "combined.log").read_text(encoding="utf-8").splitlines()
    sources, bots = set(), {}
    for line, expected in zip(lines, EXPECTED):
        h = parser.parse(line)
        found = classifier.bot(h.user_agent)
        if found:
            bots[found.token] = classifier.verify(found.token, h.client)
            assert expected["kind"] == f"bot:{found.token}:{bots[found.token]}" or expected["kind"].startswith(
                f"bot:{found.token}:")
            continue
        source = classifier.referral_source(h.referrer, h.query)
        if source and classifier.is_page_view(h) and not classifier.is_other_bot(h.user_agent):
            sources.add(source)
            assert expected["kind"] in (f"ref:{source}", f"utm:{source}")
        else:
            assert expected["kind"] in ("plain", "asset")
    referrers = yaml.safe_load((DATA / "ai_referrers.yaml").read_text(encoding="utf-8"))["sources"]
    assert sources == set(referrers)
    assert {"GPTBot", "ChatGPT-User", "OAI-SearchBot", "PerplexityBot", "Perplexity-User", "ClaudeBot",
            "Claude-User", "Bytespider", "CCBot", "Meta-ExternalAgent"} == set(bots)


def test_real_crawler_samples_are_classified(classifier: Classifier) -> None:
    folder = realdata("access_logs")
    parser = make_parser("combined")
    claude = [parser.parse(line) for line in
              (folder / "issue_ai_crawler_claudebot_leafapp-pr1556.log").read_text(encoding="utf-8").splitlines()]
    assert {classifier.bot(h.user_agent).token for h in claude} == {"ClaudeBot"}
    assert {classifier.verify("ClaudeBot", h.client) for h in claude} == {"unverifiable"}
    gpt = [parser.parse(line) for line in
           (folder / "issue_ai_crawler_gptbot_nginx-bad-bot-blocker-530.log").read_text(encoding="utf-8").splitlines()]
    assert {classifier.bot(h.user_agent).purpose for h in gpt} == {"training"}
    elastic = [parser.parse(line) for line in
               (folder / "elastic_apache_logs_semicomplete_2015_head39.log").read_text(encoding="utf-8").splitlines()]
    assert not any(classifier.bot(h.user_agent) for h in elastic)
    assert any(classifier.is_other_bot(h.user_agent) for h in elastic)  # Googlebot is a bot, not an AI one
    assert not any(classifier.referral_source(h.referrer, h.query) for h in elastic)


# --- visits ------------------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_visits_split_after_thirty_minutes_of_silence() -> None:
    visits = VisitCounter()
    minute = timedelta(minutes=1)
    assert visits.add("1.1.1.1", "chatgpt", T0) is True
    assert visits.add("1.1.1.1", "chatgpt", T0 + 29 * minute) is False
    assert visits.add("1.1.1.1", "chatgpt", T0 + 58 * minute) is False  # 29 minutes after the last view
    assert visits.add("1.1.1.1", "chatgpt", T0 + 88 * minute) is True  # exactly 30 minutes of silence
    assert visits.add("1.1.1.1", "perplexity", T0 + 88 * minute) is True  # another source, another visit
    assert visits.add("2.2.2.2", "chatgpt", T0 + 88 * minute) is True  # another client
    assert (visits.pageviews, visits.visits) == (6, 4)


def test_visits_tolerate_slightly_unordered_lines() -> None:
    visits = VisitCounter()
    assert visits.add("1.1.1.1", "claude", T0 + timedelta(minutes=5)) is True
    assert visits.add("1.1.1.1", "claude", T0) is False  # logged out of order, within the gap
    assert visits.add("1.1.1.1", "claude", T0 + timedelta(minutes=34)) is False


def test_visit_memory_stays_bounded() -> None:
    visits = VisitCounter()
    for i in range(10_000):
        visits.add(f"10.0.{i // 250}.{i % 250}", "chatgpt", T0 + timedelta(seconds=30 * i))
    assert len(visits) <= 70  # about 35 minutes of clients at two a minute
    assert visits.visits == 10_000


# --- GA4 exports -------------------------------------------------------------------------------------------

GA4_SESSION = """# ----------------------------------------
# Traffic acquisition: Session source / medium
# Account: Hengda Valve
# Property: hengda-valve.example
# ----------------------------------------
#
# Start date: 20260301
# End date: 20260331
Date,Session source / medium,Session default channel group,Sessions,Engaged sessions
20260301,chatgpt.com / referral,AI Assistant,"1,204",900
20260301,google / organic,Organic Search,5000,4000
20260302,perplexity.ai / referral,Referral,37,30
Grand total,,,"6,241",4930
"""

GA4_BOTH = """# Landing page exploration
Landing page + query string,Session source,Session medium,First user source,First user medium,Sessions
/products/ball-valve?utm_source=chatgpt.com,chatgpt.com,referral,google,organic,12

# a second table
Landing page,First user source / medium,Sessions
/,claude.ai / referral,3
"""


def test_ga4_session_source_medium_with_ai_assistant_channel() -> None:
    rows = read_ga4_csv(GA4_SESSION.splitlines(keepends=True))
    assert [(r.day, r.source_view, r.source, r.medium, r.sessions, r.channel) for r in rows] == [
        (date(2026, 3, 1), "session", "chatgpt.com", "referral", 1204, "AI Assistant"),
        (date(2026, 3, 1), "session", "google", "organic", 5000, "Organic Search"),
        (date(2026, 3, 2), "session", "perplexity.ai", "referral", 37, "Referral"),
    ]
    assert Classifier().source_id(rows[2].source) == "perplexity"


def test_ga4_keeps_session_and_first_user_views_apart() -> None:
    rows = read_ga4_csv(GA4_BOTH.splitlines())
    assert [(r.source_view, r.source, r.landing_page, r.sessions, r.day) for r in rows] == [
        ("session", "chatgpt.com", "/products/ball-valve?utm_source=chatgpt.com", 12, None),
        ("first_user", "google", "/products/ball-valve?utm_source=chatgpt.com", 12, None),
        ("first_user", "claude.ai", "/", 3, None),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("Date,Session source / medium,Sessions\n20260301,chatgpt.com / referral,many\n", "line 2: Sessions"),
    ("Date,Session source / medium,Sessions\n2026-13-01,chatgpt.com / referral,3\n", "line 2: Date"),
    ("Date,Sessions\n20260301,3\n", "line 1"),
    ("Date,Session source / medium,Sessions\n20260301\n", "line 2"),
])
def test_ga4_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(Ga4FormatError, match=message):
        read_ga4_csv(text.splitlines())
