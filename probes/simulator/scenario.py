"""The simulator's world: who is tracked, which pages exist, and the abstract answers it composes.

An answer is a list of `Segment`s (a sentence and the sources it cites); each
wire-format module renders the same answer in its engine's format. The offline
demo turns on what makes answers look like real ones (`Scenario.more_sources`,
`brand_found_rate`, `failure_rate`, `always_cited`/`never_cited`); off, they stay
as short and regular as the format tests expect.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Site:
    """A tracked entity as the simulator sees it: its name and the pages an answer may cite."""

    name: str
    pages: tuple[tuple[str, str], ...]  # (url, title)
    chinese_name: str | None = None  # used in answers to Chinese prompts


@dataclass(frozen=True)
class Page:
    """A reply sent as given: not JSON (a result page for a browser), or not 200 (a service's error reply);
    `render_request` and `failures` return them."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()  # beside Content-Type, e.g. Retry-After


def error_page(status: int, body: dict, *headers: tuple[str, str]) -> Page:
    """A service's JSON error reply."""
    return Page(json.dumps(body).encode(), "application/json", status, headers)


@dataclass(frozen=True)
class DemoEngine:
    """How the offline demo shows one engine kind: the engine id and model it configures, the list price
    it charges (keys of the config's `price`), and how much more (or less) often than the scenario's base
    rate this engine cites the brand, as real engines trust it differently."""

    engine_id: str
    model: str
    price: dict[str, float] = field(default_factory=dict)
    brand_bias: float = 0.0


@dataclass
class Scenario:
    brand: Site
    competitors: tuple[Site, ...]
    neutral_pages: tuple[tuple[str, str], ...]
    seed: int = 7
    # probability that an answer cites the brand, moved by the demo to show a trend over time
    brand_citation_rate: float = 0.5
    # per engine kind, added to brand_citation_rate: engines differ in what they trust
    engine_bias: dict[str, float] = field(default_factory=dict)
    day: str = "2026-01-01"
    # The realism the offline demo turns on (off, answers stay as short as the format tests pin them):
    # answers also cite `reference_pages` (reference, forum, news), often ahead of the tracked sites' pages
    more_sources: bool = False
    reference_pages: tuple[tuple[str, str], ...] = ()
    # share of calls whose search also retrieves a brand page the answer does not cite (the formats that
    # list retrieved sources show it)
    brand_found_rate: float = 0.0
    # share of (engine kind, day, prompt) hit by an outage: every call from one on fails as that service
    # fails (`fault`), so a retried call fails again
    failure_rate: float = 0.0
    # (kind, prompt, brand url): pages every answer cites, and pages no answer cites (the demo moves them
    # between its two weeks: a citation lost, one gained)
    always_cited: frozenset[tuple[str, str, str]] = frozenset()
    never_cited: frozenset[tuple[str, str, str]] = frozenset()


@dataclass
class Segment:
    sentence: str
    sources: list[tuple[str, str]] = field(default_factory=list)


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


_OPENERS = (
    "For {kw}, buyers usually compare a few established manufacturers.",
    "When sourcing {kw}, start with certified suppliers that publish test data.",
    "Here is a short overview of {kw} and who makes them well.",
)
_BRAND_LINES = (
    "{name} is often recommended for its API 6D certified product range and short lead times.",
    "{name} publishes detailed pressure test reports, which procurement teams value.",
    "Many distributors shortlist {name} because it exports to over 60 countries.",
)
_COMPETITOR_LINES = (
    "{name} is a well-known alternative with a broad catalogue.",
    "{name} competes on price for standard sizes.",
    "Some engineers prefer {name} for cryogenic service.",
)
_NEUTRAL_LINES = (
    "Check the pressure class, body material and end connection before ordering.",
    "Independent standards such as API 608 and ISO 17292 define the key tests.",
    "Ask for material certificates (EN 10204 3.1) with every shipment.",
)


_REFERENCE_LINES = (
    "Industry references list the same criteria: pressure rating, seat material and fire-safe design.",
    "Engineers on forums stress asking for factory test videos and third-party inspection.",
    "Market reports expect demand from LNG and water projects to keep growing.",
    "Supplier directories let you filter manufacturers by certification and export market.",
)
_ZH_REFERENCE_LINES = ("行业资料列出的选型要点相同：压力等级、阀座材料和防火设计。", "论坛上的工程师建议索取出厂试验视频并安排第三方检验。")

_ZH_OPENERS = ("关于{kw}，采购方通常会比较几家成熟的制造商。", "选择{kw}时，应优先考虑公开测试数据的认证供应商。")
_ZH_BRAND_LINES = ("{name}的 API 6D 认证产品线和较短的交货期常被推荐。", "许多海外分销商把{name}列入候选名单。")
_ZH_COMPETITOR_LINES = ("{name}是产品目录较全的知名替代品牌。", "{name}在标准规格上价格有竞争力。")
_ZH_NEUTRAL_LINES = ("下单前请核对压力等级、阀体材料和连接方式。", "每批货物都应索取 EN 10204 3.1 材质证书。")


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def compose_answer(scenario: Scenario, prompt: str, call_index: int, kind: str = "") -> list[Segment]:
    """An abstract answer: sentences and the sources each one cites. Wire formats render it."""
    rng = _rng(scenario.seed, scenario.day, prompt, call_index, kind)
    brand_rate = scenario.brand_citation_rate + scenario.engine_bias.get(kind, 0.0)
    chinese = is_chinese(prompt)
    openers, brand_lines, competitor_lines, neutral_lines = (
        (_ZH_OPENERS, _ZH_BRAND_LINES, _ZH_COMPETITOR_LINES, _ZH_NEUTRAL_LINES) if chinese
        else (_OPENERS, _BRAND_LINES, _COMPETITOR_LINES, _NEUTRAL_LINES))

    def name(site: Site) -> str:
        return (site.chinese_name or site.name) if chinese else site.name

    pinned = [page for page in scenario.brand.pages if (kind, prompt, page[0]) in scenario.always_cited]
    brand_pages = [page for page in scenario.brand.pages if (kind, prompt, page[0]) not in scenario.never_cited]
    keyword = prompt.rstrip("?？").strip() or "industrial valves"
    segments = [Segment(rng.choice(openers).format(kw=keyword))]
    picks: list[Segment] = []
    if pinned or rng.random() < brand_rate:
        picks.append(Segment(rng.choice(brand_lines).format(name=name(scenario.brand)),
                             [pinned[0] if pinned else rng.choice(brand_pages)]))
    elif rng.random() < 0.3:  # named without being cited
        picks.append(Segment(rng.choice(brand_lines).format(name=name(scenario.brand))))
    for competitor in scenario.competitors:
        if rng.random() < 0.55:
            picks.append(Segment(rng.choice(competitor_lines).format(name=name(competitor)),
                                 [rng.choice(competitor.pages)]))
    rng.shuffle(picks)
    segments.extend(picks)
    for _ in range(rng.randint(1, 2)):
        segments.append(Segment(rng.choice(neutral_lines), [rng.choice(scenario.neutral_pages)]))
    if scenario.more_sources and scenario.reference_pages:
        # a stream of its own: the answer above stays what it was, references are added around it
        _cite_references(segments, scenario, _ZH_REFERENCE_LINES if chinese else _REFERENCE_LINES,
                         _rng("references", scenario.seed, scenario.day, prompt, call_index, kind))
    return segments


def _cite_references(segments: list[Segment], scenario: Scenario, lines: tuple[str, ...], rng: random.Random) -> None:
    """Real answers cite more than the vendors: a reference for the opener, then a few sentences grounded in
    reference, forum and news pages, anywhere after it (so often ahead of the brand); now and then the
    brand's page only comes last, as further reading."""
    pages = scenario.reference_pages
    if rng.random() < 0.5:
        segments[0].sources.append(rng.choice(pages))
    for _ in range(rng.randint(1, 3)):
        sources = rng.sample(pages, rng.choice((1, 1, 2)))
        segments.insert(rng.randint(1, len(segments)), Segment(rng.choice(lines), sources))
    brand = next((s for s in segments if set(s.sources) & set(scenario.brand.pages)), None)
    if brand is not None and rng.random() < 0.15:
        segments.remove(brand)
        segments.append(brand)


@dataclass(frozen=True)
class SimulatedAnswer:
    """What a wire-format module renders: the composed answer and the call it answers."""

    segments: list[Segment]
    scenario: Scenario
    prompt: str
    model: str
    ident: str  # stable id for this (seed, day, prompt, call) for response ids
    call_index: int = 0  # the how-many-th call with this prompt on this day (a deferred part names it)


def simulated_answer(scenario: Scenario, prompt: str, model: str, call_index: int, kind: str = "") -> SimulatedAnswer:
    ident = hashlib.sha256(f"{scenario.seed}|{scenario.day}|{prompt}|{call_index}|{kind}".encode()).hexdigest()[:24]
    return SimulatedAnswer(compose_answer(scenario, prompt, call_index, kind), scenario, prompt, model, ident,
                           call_index)


def retrieved_only(answer: SimulatedAnswer) -> list[tuple[str, str]]:
    """The pages the engine's search returned and its answer does not cite, for the formats that list them
    after the cited ones: two of the scenario's neutral pages and, for a share of calls (`brand_found_rate`),
    a brand page among them that the answer left out."""
    scenario = answer.scenario
    cited = {url for segment in answer.segments for url, _ in segment.sources}
    extra = [page for page in scenario.neutral_pages if page[0] not in cited][:2]
    rng = _rng("retrieved", answer.ident)
    left_out = [page for page in scenario.brand.pages if page[0] not in cited]
    if left_out and rng.random() < scenario.brand_found_rate:
        extra.insert(rng.randint(0, len(extra)), rng.choice(left_out))
    return extra


def fault(scenario: Scenario, prompt: str, call_index: int, kind: str) -> int | None:
    """Which of its service's failures this call meets (a number to choose one by), or None where it succeeds.
    An outage (`failure_rate`) takes a (kind, day, prompt) from one call on: the calls before it succeed, and
    every later one fails the same way, so the runner's retries of a failed call fail too."""
    rng = _rng("outage", scenario.seed, scenario.day, prompt, kind)
    if not scenario.failure_rate or rng.random() >= scenario.failure_rate:
        return None
    first, pick = rng.choice((0, 1, 2, 2, 2)), rng.randrange(1 << 16)
    return pick if call_index >= first else None


def bracketed(numbers: list[int]) -> str:
    """Markers as Perplexity writes them: "[1][3]" (nothing for no source)."""
    return "".join(f"[{n}]" for n in numbers)


def numbered_text(answer: SimulatedAnswer, marks: Callable[[list[int]], str] = bracketed
                  ) -> tuple[str, list[tuple[str, str]]]:
    """The answer as the engines that number their sources write it: each sentence followed by the markers
    (`marks` of the numbers, from 1, of the sources it cites), and the numbered (url, title) list (source n
    is entry n-1), with the pages retrieved but never marked (`retrieved_only`) after the cited ones.
    Sentences are joined by a space (none in a Chinese answer), the first in a paragraph of its own."""
    numbers: dict[str, int] = {}
    sources: list[tuple[str, str]] = []

    def listed(url: str, title: str) -> int:
        if url not in numbers:
            numbers[url] = len(sources) + 1
            sources.append((url, title))
        return numbers[url]

    sentences = [segment.sentence + marks([listed(url, title) for url, title in segment.sources])
                 for segment in answer.segments]
    for url, title in retrieved_only(answer):
        listed(url, title)  # retrieved, never marked in the text
    joiner = "" if is_chinese(answer.prompt) else " "
    text = sentences[0] + ("\n\n" + joiner.join(sentences[1:]) if len(sentences) > 1 else "")
    return text, sources


def domain_of(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def demo_scenario(seed: int = 7) -> Scenario:
    """The demo brand: a Chinese valve maker selling abroad, and two competitors."""
    return Scenario(
        brand=Site("Hengda Valve", chinese_name="恒达阀门", pages=(
            ("https://www.hengdavalve.com/products/api-6d-ball-valve", "API 6D Trunnion Ball Valve | Hengda Valve"),
            ("https://www.hengdavalve.com/blog/how-to-choose-a-butterfly-valve", "How to Choose a Butterfly Valve"),
            ("https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf", "Cryogenic Seat Leakage Study"),
            ("https://www.youtube.com/watch?v=hengda-factory-tour", "Hengda Valve factory tour - YouTube"),
        )),
        competitors=(
            Site("Apex Flow Controls", (
                ("https://www.apexflow.com/products/gate-valves", "Gate Valves | Apex Flow Controls"),
                ("https://blog.apexflow.com/valve-selection-guide", "Valve Selection Guide"),
            )),
            Site("NorthStar Valves", (
                ("https://northstarvalves.de/en/cryogenic", "Cryogenic Valves - NorthStar"),
                ("https://northstarvalves.de/en/news/2026-expansion", "NorthStar expands capacity"),
            )),
        ),
        neutral_pages=(
            ("https://en.wikipedia.org/wiki/Ball_valve", "Ball valve - Wikipedia"),
            ("https://www.reddit.com/r/engineering/comments/valves", "Which valve brands do you trust? : r/engineering"),
            ("https://www.api.org/products-and-services/standards", "API Standards"),
            ("https://www.valvemagazine.com/news/market-outlook-2026", "Valve market outlook 2026"),
        ),
        seed=seed,
        # cited only where `more_sources` is on (the demo)
        reference_pages=(
            ("https://en.wikipedia.org/wiki/Butterfly_valve", "Butterfly valve - Wikipedia"),
            ("https://www.iso.org/standard/68390.html", "ISO 17292:2015 - Metal ball valves"),
            ("https://www.eng-tips.com/threadminder.cfm?pid=408", "Valve engineering forum - Eng-Tips"),
            ("https://www.reddit.com/r/PipingDesign/comments/ball_valve_brands", "Ball valve brands? : r/PipingDesign"),
            ("https://www.thomasnet.com/products/ball-valves-4770208-1.html", "Ball Valve Suppliers - Thomasnet"),
            ("https://www.made-in-china.com/products-search/hot-china-products/Ball_Valve.html", "China Ball Valve"),
            ("https://www.flowcontrolnetwork.com/valves/article/lng-valve-demand", "LNG drives cryogenic valve demand"),
            ("https://baike.baidu.com/item/球阀", "球阀_百度百科"),
        ),
    )
