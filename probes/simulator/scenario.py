"""The simulator's world: who is tracked, which pages exist, and the abstract answers it composes.

An answer is a list of `Segment`s (a sentence and the sources it cites); each
wire-format module renders the same answer in its engine's format.
"""

from __future__ import annotations

import hashlib
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
    """A reply that is not JSON (a result page for a browser), or not 200; `render_request` may return one."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


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

    keyword = prompt.rstrip("?？").strip() or "industrial valves"
    segments = [Segment(rng.choice(openers).format(kw=keyword))]
    picks: list[Segment] = []
    if rng.random() < brand_rate:
        picks.append(Segment(rng.choice(brand_lines).format(name=name(scenario.brand)),
                             [rng.choice(scenario.brand.pages)]))
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
    return segments


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


def bracketed(numbers: list[int]) -> str:
    """Markers as Perplexity writes them: "[1][3]" (nothing for no source)."""
    return "".join(f"[{n}]" for n in numbers)


def numbered_text(answer: SimulatedAnswer, marks: Callable[[list[int]], str] = bracketed
                  ) -> tuple[str, list[tuple[str, str]]]:
    """The answer as the engines that number their sources write it: each sentence followed by the markers
    (`marks` of the numbers, from 1, of the sources it cites), and the numbered (url, title) list (source n
    is entry n-1), with two of the scenario's neutral pages retrieved but never marked after the cited ones.
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
    for url, title in [(url, title) for url, title in answer.scenario.neutral_pages if url not in numbers][:2]:
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
    )
