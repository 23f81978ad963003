"""Tests for the parser of Google result pages (kind google_browser).

Our own pages (tests/fixtures/google_html/) follow the 2026 markup learned from the real mobile page
(overview heading text, hidden "could not generate" notices, source chips as buttons, a carousel of
source tiles, "Show more"), for a B2B valve exporter (Hengda Valve / 恒达阀门). The real public pages in
../shared/realdata/google_serp_html/ are read in place, never copied, and those tests skip where absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from citewatch.errors import ParseError
from citewatch.raw import HTML, PNG, RawPart, RawResult
from citewatch.status import BLOCKED, NO_ANSWER, OK
from probes.base import (
    ADS,
    AI_MODE,
    AI_OVERVIEW,
    IMAGES,
    KNOWLEDGE_PANEL,
    PEOPLE_ALSO_ASK,
    SHOPPING,
    TOP_STORIES,
    VIDEO,
)
from probes.parsers import google_words
from probes.parsers.google_html import (
    PARSER_VERSION,
    parse,
    recognizes,
    recognizes_page,
)
from tests.probes.support import real_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "google_html"
REAL = "google_serp_html"

HENGDA_6D = "https://www.hengdavalve.com/products/api-6d-ball-valve"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026?utm_source=google"
APEX_BALL = "https://www.apexflow.com/products/ball-valves"
NORTHSTAR_CRYO = "https://northstarvalves.de/en/cryogenic"
API_LIST = "https://www.api.org/products-and-services/api-monogram-and-apiqr/composite-list"
MIC_6D = "https://www.made-in-china.com/manufacturers/api-6d-ball-valve.html"


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def expanded(before: str = "overview_before.html", after: str | None = "overview_after.html") -> RawResult:
    parts = [RawPart("before", page(before), HTML)]
    if after is not None:
        parts.append(RawPart("after", page(after), HTML))
    parts.append(RawPart("screenshot", b"\x89PNG\r\n\x1a\n\x00\x00", PNG))
    return RawResult(tuple(parts))


def real(name: str) -> bytes:
    return real_file(REAL, name).read_bytes()


# --- module contract ---------------------------------------------------------------------------------


def test_parser_version_and_json_recognition() -> None:
    assert PARSER_VERSION == 1
    assert recognizes({"organic_results": [], "ai_overview": {}}) is False
    assert recognizes({"choices": [{"message": {}}]}) is False


def test_the_registry_names_this_parser() -> None:
    from probes.registry import KINDS

    assert KINDS["google_browser"].parser == "probes.parsers.google_html"


def test_words_the_browser_probe_imports_are_kept() -> None:
    assert "ai overview" in google_words.OVERVIEW_HEADINGS
    for heading in ("ai 概览", "übersicht mit ki", "aperçu ia", "resumen creado con ia", "ai による概要"):
        assert heading in google_words.OVERVIEW_HEADINGS
    assert "show more" in google_words.SHOW_MORE_LABELS
    assert all(word == google_words.normalized(word) for word in google_words.OVERVIEW_HEADINGS)


def test_recognizes_pages_not_other_bytes() -> None:
    assert recognizes_page(page("overview_before.html"))
    assert recognizes_page(page("consent.html"))
    assert recognizes_page(page("captcha.html"))
    assert not recognizes_page(b'{"ai_overview": {}}')
    assert not recognizes_page(b"<html><head><title>My blog</title></head><body>hi</body></html>")
    assert not recognizes_page(b"")
    assert not recognizes_page("<html>")  # type: ignore[arg-type]


# --- our own pages -------------------------------------------------------------------------------------


def test_overview_before_show_more_reads_text_sources_and_results() -> None:
    answer = parse(page("overview_before.html"))
    assert answer.status == OK and answer.has_answer
    assert answer.text == (
        "Hengda Valve is a Chinese manufacturer of API 6D ball valves based in Wenzhou.\n\n"
        "Key suppliers include:\n\n"
        "Hengda Valve: trunnion ball valves certified to API 6D and exported worldwide.\n"
        "Apex Flow Controls: floating ball valves.")
    # chips (buttons), the hidden notices, "Dive deeper in AI Mode" and the screen-reader h1 stay out
    for noise in ("(+1)", "not available", "Dive deeper", "AI Mode Conversation", "Show more", "About this result"):
        assert noise not in answer.text
    # the tray keeps Google's order; a link only in the prose follows it, with the text it covers
    assert [(c.position, c.url) for c in answer.citations] == [(1, HENGDA_6D), (2, VALVEMAG), (3, API_LIST)]
    assert all(c.visible for c in answer.citations)
    api = answer.citations[2]
    assert [answer.text[s:e] for s, e in api.spans] == ["API 6D"]
    assert answer.citations[0].title == "API 6D Ball Valves"
    assert answer.features == [ADS, AI_OVERVIEW, PEOPLE_ALSO_ASK]


def test_sources_revealed_by_show_more_are_not_visible() -> None:
    answer = parse(expanded())
    assert answer.text.endswith("\n\nPrices depend on size and pressure class.")
    assert [(c.url, c.visible) for c in answer.citations] == [
        (HENGDA_6D, True), (VALVEMAG, True), (APEX_BALL, False), (NORTHSTAR_CRYO, False), (API_LIST, True)]
    assert [c.position for c in answer.citations] == [1, 2, 3, 4, 5]
    assert AI_OVERVIEW in answer.features


def test_a_garbage_after_snapshot_leaves_the_before_page() -> None:
    raw = RawResult((RawPart("before", page("overview_before.html"), HTML), RawPart("after", b"\x00\x01", HTML)))
    answer = parse(raw)
    assert [c.url for c in answer.citations] == [HENGDA_6D, VALVEMAG, API_LIST]
    assert all(c.visible for c in answer.citations)


def test_organic_results_exclude_ads_features_and_google_links() -> None:
    answer = parse(page("overview_before.html"))
    assert [(o.rank, o.url) for o in answer.organic] == [
        (1, HENGDA_6D), (2, NORTHSTAR_CRYO), (3, MIC_6D)]
    assert answer.organic[0].title == "API 6D Ball Valves | Hengda Valve"
    assert answer.organic[0].snippet == "Hengda Valve manufactures API 6D trunnion ball valves in Wenzhou."
    assert all("apexflow" not in o.url and "valvemagazine" not in o.url for o in answer.organic)


def test_chinese_overview_heading() -> None:
    answer = parse(page("overview_zh.html"))
    assert answer.status == OK and AI_OVERVIEW in answer.features
    assert answer.text == "恒达阀门是位于温州的球阀制造商。\n\n其产品符合 API 6D 标准。"
    assert [c.url for c in answer.citations] == ["https://www.hengdavalve.com/zh/", MIC_6D]
    assert answer.citations[0].title == "恒达阀门"


def test_german_overview_heading() -> None:
    answer = parse(page("overview_de.html"))
    assert answer.text == "NorthStar Valves ist ein deutscher Hersteller von Kryo-Kugelhähnen."
    assert [c.url for c in answer.citations] == ["https://northstarvalves.de/de/kryo"]
    assert answer.organic[0].url == "https://northstarvalves.de/de/kryo"


def test_a_page_without_overview_is_ok_with_no_answer_text() -> None:
    answer = parse(page("no_overview.html"))
    assert answer.status == OK and not answer.has_answer
    assert answer.text == "" and answer.citations == []
    assert answer.features == [PEOPLE_ALSO_ASK]
    assert [o.rank for o in answer.organic] == [1, 2, 3]


def test_a_shown_could_not_generate_notice_is_no_answer() -> None:
    answer = parse(page("not_generated.html"))
    assert answer.status == NO_ANSWER
    assert answer.text == "" and AI_OVERVIEW not in answer.features
    assert len(answer.organic) == 3


def test_hidden_could_not_generate_notices_do_not_count() -> None:
    # every overview header carries the notices, hidden: the overview pages above are OK
    assert b"not available for this search" in page("overview_before.html")
    assert parse(page("overview_before.html")).status == OK


def test_consent_page_is_blocked() -> None:
    answer = parse(page("consent.html"))
    assert answer.status == BLOCKED
    assert "consent" in (answer.status_reason or "")


def test_captcha_page_is_blocked() -> None:
    answer = parse(page("captcha.html"))
    assert answer.status == BLOCKED
    assert "CAPTCHA" in (answer.status_reason or "")


def test_ai_mode_page_answer_and_sources() -> None:
    answer = parse(page("ai_mode.html"))
    assert answer.features == [AI_MODE]
    assert answer.text == ("Several Chinese manufacturers make API 6D ball valves.\n\n"
                           "Hengda Valve (Wenzhou): trunnion ball valves.\n"
                           "NorthStar Valves (Germany): cryogenic valves.")
    assert [c.url for c in answer.citations] == [HENGDA_6D, NORTHSTAR_CRYO]


def test_basic_page_links_are_unwrapped() -> None:
    body = (b'<html><head><title>x - Google Search</title></head><body><div id="main">'
            b'<div><a href="/url?q=https://www.hengdavalve.com/&amp;sa=U&amp;usg=x"><h3>Hengda</h3></a></div>'
            b'<div><a href="/url?q=https://maps.google.com/maps%3Fq%3Dx&amp;sa=U"><h3>Maps</h3></a></div>'
            b'<div><a href="/search?q=other"><h3>Other</h3></a></div></div></body></html>')
    answer = parse(body)
    assert [(o.rank, o.url) for o in answer.organic] == [(1, "https://www.hengdavalve.com/")]


def test_basic_page_wrapped_urls_read_as_parse_qs_reads_them() -> None:
    body = (b'<html><head><title>x - Google Search</title></head><body><div id="main">'
            b'<div><a href="/url?q=https://a.example/a+b%C3%A4&amp;sa=U"><h3>escaped</h3></a></div>'
            b'<div><a href="/url?q=&amp;url=https://b.example/x"><h3>blank q</h3></a></div>'
            b'<div><a href="/url?q=https://c.example/p#frag&amp;sa=U"><h3>fragment</h3></a></div>'
            b'<div><a href="/url?q=https://www.google.com/search?q=x"><h3>google</h3></a></div>'
            b'<div><a href="/url?q=/relative"><h3>relative</h3></a></div>'
            b'<div><a href="/url?q=https://d.example/url?x=1"><h3>url path</h3></a></div>'
            b'<div><a href="  /url?q=https://e.example/  "><h3>spaces</h3></a></div>'
            b'</div></body></html>')
    assert [o.url for o in parse(body).organic] == [
        "https://a.example/a bä", "https://b.example/x", "https://c.example/p", "https://d.example/url?x=1",
        "https://e.example/"]


def test_basic_page_titles_and_snippets() -> None:
    # The snippet is the first container (data-sncf="1", a class holding s3v9rd or VwiC3b, or just "st") after
    # the title link, never one inside it; hidden parts, scripts and every kind of whitespace are left out.
    body = ('<html><head><title>x - Google Search</title></head><body><div id="main">'
            '<div><div class="r"><a href="/url?q=https://a.example/&amp;sa=U"><h3>'
            '<div style="-webkit-line-clamp:2">A&#160;title</div></h3><span class="s3v9rd">in the link</span></a></div>'
            '<div class="s3v9rd"><div><div class="s3v9rd">First&#160;snippet</div></div><span> \u00b7 </span>'
            '<span>more</span></div></div>'
            '<div><div><a href="/url?q=https://b.example/"><h3>B</h3></a></div><div class="st">Exact st</div></div>'
            '<div><div><a href="/url?q=https://c.example/"><h3>C</h3></a></div><div class="sta">not st</div>'
            '<div data-sncf="1">Marked snippet</div></div>'
            '<div><div><a href="/url?q=https://d.example/"><h3>D <span style="DISPLAY : None">hidden</span>'
            '<span aria-hidden="true">aria</span><b style="v\u0131s\u0131b\u0131l\u0131ty:h\u0131dden">gone</b>'
            '\u2003end\tof\n title </h3></a></div>'
            '<div class="VwiC3b"><script>x</script>Visible<span style="visibility:hidden">no</span></div></div>'
            '</div></body></html>').encode()
    assert [(o.url, o.title, o.snippet) for o in parse(body).organic] == [
        ("https://a.example/", "A title", "First snippet \u00b7 more"),
        ("https://b.example/", "B", "Exact st"),
        ("https://c.example/", "C", "Marked snippet"),
        ("https://d.example/", "D end of title", "Visible")]


def test_script_and_style_texts_are_no_labels_on_a_page_without_results_list() -> None:
    body = (b'<html><head><title>x - Google Search</title></head><body><div id="main">'
            b'<h2><script>Videos</script></h2><div role="heading"><style>People also ask</style></div>'
            b'<h2><script>x</script>Top stories</h2>'  # (the text after a script is the heading's)
            b'<div><a href="/url?q=https://a.example/"><h3>A</h3></a></div></div></body></html>')
    assert parse(body).features == [TOP_STORIES]


@pytest.mark.parametrize("body", [
    b"", b"   \n", b'{"organic_results": []}', b"plain text, no markup", b"\x89PNG\r\n\x1a\n\x00\x00\x00",
    b"\x00<html>",
])
def test_garbage_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)


def test_odd_inputs_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        parse("<html></html>")  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        parse(RawResult((RawPart("screenshot", b"\x89PNG", PNG),)))


def test_odd_markup_never_crashes() -> None:
    odd = (b'<html><body><div id="rso"><div role="heading">AI Overview</div><a href="javascript:void(0)">x</a>'
           b'<a href="https://[bad">y</a><a><h3>no href</h3></a><a href="http://"><h3>empty host</h3></a>'
           b'<table><tr><td>a</td><td>b</td></tr></table></div></body></html>')
    answer = parse(odd)
    assert answer.status == OK and answer.organic == []


def test_latin1_page_is_decoded_by_its_declared_charset() -> None:
    body = ('<html><head><meta charset="iso-8859-1"><title>q - Google Search</title></head><body><div id="rso">'
            '<div><a href="https://www.nordstern.de/"><h3>Kugelhähne für Kälte</h3></a></div></div></body></html>')
    answer = parse(body.encode("iso-8859-1"))
    assert answer.organic[0].title == "Kugelhähne für Kälte"


# --- real pages ------------------------------------------------------------------------------------------


def test_real_mobile_overview_iran_war_status() -> None:
    answer = parse(real("google_ai_overview_top_stories_iran_war_status.html"))
    assert answer.status == OK and answer.has_answer
    assert answer.text.startswith("The United States and Iran have reached an interim memorandum of understanding")
    blocks = answer.text.split("\n\n")
    assert blocks[1] == "Current developments regarding the conflict with Iran include:"
    items = blocks[2].split("\n")
    assert [item.split(":")[0] for item in items] == [
        "Interim Agreement", "Strait of Hormuz Dispute", "Nuclear Inspections", "Sanctions and Assets",
        "Congressional Action"]
    # the chips ("Al Jazeera +2"), the hidden notices and the carousel tiles are not text
    for noise in ("+2", "View related links", "not available", "Can't generate", "6 hours ago", "You said"):
        assert noise not in answer.text
    # the news carousel's sources in Google's order; the prose link to CBS is the same page as tile 1
    cbs = "https://www.cbsnews.com/live-updates/iran-us-war-trump-nuclear-sites-strait-of-hormuz/"
    assert [c.url for c in answer.citations] == [
        cbs,
        ("https://www.aljazeera.com/news/liveblog/2026/6/22/iran-war-live-first-day-of-us-talks-covers-lebanon-"
         "hormuz-frozen-assets"),
        answer.citations[2].url,
        answer.citations[3].url,
    ]
    assert answer.citations[2].url.startswith("https://www.wusa9.com/video/")
    assert answer.citations[3].url.startswith("https://www.palestinechronicle.com/iran-says-hormuz")
    assert [c.position for c in answer.citations] == [1, 2, 3, 4]
    assert [answer.text[s:e] for s, e in answer.citations[0].spans] == ["IAEA nuclear inspections"]
    assert answer.citations[0].title.startswith("Live Updates: Trump says Iran")
    assert answer.features == [AI_OVERVIEW, PEOPLE_ALSO_ASK, VIDEO]
    assert [o.url for o in answer.organic] == [
        "https://www.reuters.com/world/iran/",
        "https://www.csis.org/programs/latest-analysis-war-iran",
        answer.organic[2].url,
        "https://www.cbsnews.com/us-iran-tensions/",
        "https://en.wikipedia.org/wiki/2026_Iran_war",
        "https://www.cnn.com/world/middleeast/iran",
        "https://www.nbcnews.com/world/iran-war",
        "https://www.csis.org/analysis/who-winning-iran-war",
    ]
    assert answer.organic[2].url.startswith("https://news.sky.com/story/iran-war-latest")
    assert answer.organic[0].title == "Iran War: Latest Breaking News, Updates & Analysis"
    assert "Real-time Reuters coverage" in (answer.organic[0].snippet or "")
    assert all("youtube.com" not in o.url for o in answer.organic)  # the Videos block is a feature


def test_real_2026_current_markup_pages_have_no_results_and_no_overview() -> None:
    for name in ("google_2026-07_current_markup_organic_1.html", "google_2026-07_current_markup_organic_2.html"):
        answer = parse(real(name))
        # "did not match any documents": a read page, not blocked (it mentions /sorry/ in its scripts)
        assert answer.status == OK, name
        assert answer.organic == [] and answer.text == "" and answer.citations == []
        assert AI_OVERVIEW not in answer.features


def test_real_desktop_2023_running_shoes() -> None:
    answer = parse(real("google_best_running_shoes_2023-09-07_desktop.html"))
    assert answer.status == OK and answer.text == ""
    assert len(answer.organic) == 9
    assert answer.organic[0].url == "https://www.runnersworld.com/gear/a19663621/best-running-shoes/"
    assert answer.organic[0].title == "The Best Running Shoes of 2023"
    assert answer.organic[8].url == "https://believeintherun.com/shoe-reviews/best-running-shoes-2023/"
    assert not any("nike.com" in o.url for o in answer.organic)  # "Explore brands" is no result block
    assert [f for f in answer.features if f in (ADS, SHOPPING, PEOPLE_ALSO_ASK, VIDEO)] == [
        ADS, SHOPPING, PEOPLE_ALSO_ASK, VIDEO]


def test_real_desktop_2024_president_usa() -> None:
    answer = parse(real("google_president_usa_desktop_paa.html"))
    assert [o.url for o in answer.organic] == [
        "https://www.whitehouse.gov/about-the-white-house/presidents/",
        "https://en.wikipedia.org/wiki/President_of_the_United_States",
        "https://www.whitehouse.gov/",
        "https://www.instagram.com/potus/?hl=en",
        "https://www.facebook.com/POTUS/",
        "https://usun.usmission.gov/our-leaders/the-president-of-the-united-states/",
        "https://en.wikipedia.org/wiki/List_of_presidents_of_the_United_States",
    ]
    assert {PEOPLE_ALSO_ASK, KNOWLEDGE_PANEL, TOP_STORIES, VIDEO, IMAGES} <= set(answer.features)
    assert not any("youtube.com" in o.url or "usatoday.com" in o.url for o in answer.organic)


def test_real_desktop_2019_van_gogh() -> None:
    answer = parse(real("google_van_gogh_paintings_desktop_knowledge_carousel.html"))
    assert len(answer.organic) == 9
    assert answer.organic[0].url == "https://www.vincentvangogh.org/"
    assert answer.organic[0].snippet and "Van Gogh" in answer.organic[0].snippet
    # a Google-hosted site Google ranks as a result is kept
    assert answer.organic[7].url == "https://artsandculture.google.com/theme/agLStrYjblBRKA"
    assert {TOP_STORIES, KNOWLEDGE_PANEL, PEOPLE_ALSO_ASK} <= set(answer.features)


def test_real_basic_no_script_page_unwraps_url_q_links() -> None:
    answer = parse(real("google_matkasse_sv_2024-09-06_basic_html.html"))
    assert len(answer.organic) == 99
    assert [o.url for o in answer.organic[:3]] == [
        "https://www.linasmatkasse.se/", "https://middagsfrid.se/", "https://www.ica.se/icas-matkasse/"]
    assert all(not o.url.startswith("/") and "google.se/url" not in o.url for o in answer.organic)
    assert answer.organic[0].title == "Linas Matkasse: Goda, hälsosamma matkassar med 30% rabatt!"
    assert (answer.organic[0].snippet or "").startswith("Nystart för hela familjen")
    assert [o.rank for o in answer.organic] == list(range(1, 100))


def test_real_sorry_page_is_blocked_not_no_overview() -> None:
    raw = real("google_sorry_unusual_traffic_blocked.html")
    assert recognizes_page(raw)
    answer = parse(raw)
    assert answer.status == BLOCKED
    assert answer.status_reason is not None and "unusual-traffic" in answer.status_reason
    assert "/sorry/" in answer.status_reason


def test_real_pages_are_recognized() -> None:
    for name in ("google_ai_overview_top_stories_iran_war_status.html", "google_matkasse_sv_2024-09-06_basic_html.html",
                 "google_2026-07_current_markup_organic_1.html", "google_best_running_shoes_2023-09-07_desktop.html"):
        assert recognizes_page(real(name)), name


def test_kjellberg_expected_output_matches_its_page_where_present() -> None:
    # The expected output pairs with kjellberg/serp_parser's 2026-04-19-mobile-vad-ar-armhang.html (2 MB), which
    # was not copied beside it (SOURCES.md): this runs where someone places the page next to it.
    import json

    expected_path = real_file(REAL, "kjellberg_expected_2026-04-19-mobile-vad-ar-armhang.json")
    page_path = expected_path.with_suffix(".html")
    if not page_path.is_file():
        pytest.skip(f"{page_path.name} (the page this expected output describes) is absent")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    answer = parse(page_path.read_bytes())
    assert [o.url for o in answer.organic] == [o["url"] for o in expected["organic_results"]]
    assert [c.url.split("#")[0] for c in answer.citations] == [
        c["url"].split("#")[0] for c in expected["ai_overview"]["citations"]]
