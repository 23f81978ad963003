"""Fill a database with a year of realistic history, fast (issue 10): the data `bench/metrics_scale.py` times.

The default world: one project (a Chinese valve maker selling abroad, three competitors), 500 keywords
(weights, tags, a few branded, a few in Chinese), six engines (chatgpt/openai, perplexity/perplexity_agent,
gemini/gemini, claude/anthropic, google/serpapi, google_ai_mode/serpapi_ai_mode), one run a day with 3
samples per keyword and engine: 9,000 observations a day, 3.3 million a year, ~9 citations each.

How an observation is made, deterministically from (seed, day, keyword, engine, sample):

1. an abstract answer (`probes.simulator.scenario.Segment`s) is composed from a per-keyword pool of ~40
   pages (the brand's, competitors', editorial, forums, Wikipedia, standards bodies, marketplaces,
   manufacturers not tracked, videos), with sentences drawn from templates with many slots (standards,
   materials, pressure classes, sizes, markets...), so that samples differ as real answers do; the brand
   is cited at a rate that depends on the keyword, the engine, and a slow trend over the year;
2. it is rendered in the engine kind's wire format by the local simulator's renderers
   (`probes/simulator/`), Google pages enriched with ten organic results, related searches and
   questions; about every other Google prompt defers its AI Overview to a second part, as SerpApi does;
3. the raw result goes through exactly what the pipeline does (`monitor.pipeline.build_record`'s steps:
   `citewatch.opaque.elide_opaque`, then `apply_payload`: the kind's real parser and the analysis), which
   gives the ObservationRecord (citations with positions, cited/retrieved, spans, visibility, owners,
   content types, domain classes; mentions; organic results; SERP features);
4. ~2% of probes fail (timeouts, 429/5xx, Google blocks: no payload, as the pipeline stores them) and
   ~0.3% are skipped (daily budget).

The bulk path writes exactly the rows `storage.repository.save_observation` would (checked by
`--check`): raw parts content-addressed (SHA-256 of the elided bytes) and compressed with
`storage.compression.compress` and the kind's dictionary, trained once per kind on ~2,000 generated
payloads and stored in `payload_dictionary` like `storage.payload_store.train_payload_dictionaries`;
observations with explicit ids; citations, mentions, organic results, features, parts; and the daily
rollups from `storage.tally.tally(record, brand)` summed per batch of days in one
`storage.rollups.Accumulator`. Runs are stored as `repository.start_run` stores them (their planned counts
added to the rollups as scheduled), finished.

Payload synthesis, parsing, tallying and compression run in worker processes; the one writer process
writes each batch of days in one transaction (SQLite: raw DBAPI executemany, `PRAGMA synchronous=OFF`
during the load; PostgreSQL: COPY through psycopg). A load interrupted loses at most the batch in
flight: run the same command again and it resumes after the last day stored.

Usage:

    python bench/history.py --url sqlite:////work/benchdata/year.db            # the full year
    python bench/history.py --url sqlite:////work/benchdata/4w.db --days 28    # a 4-week sample
    python bench/history.py --url postgresql://postgres@127.0.0.1:5432/citewatch_bench
    python bench/history.py --check                                            # small-scale correctness check

Options: --days (365), --keywords (500), --samples (3), --seed (7), --end (last day, 2026-12-05),
--workers (CPU count), --batch-days (1), --project (bench).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citewatch.opaque import elide_opaque
from citewatch.raw import JSON, RESPONSE, RawPart, RawResult
from citewatch.status import BLOCKED, ERROR, RUN_FINISHED, SKIPPED
from citewatch.text import storable
from monitor.analysis import EntitySpec
from monitor.enrich import Tracking
from monitor.pipeline import apply_payload
from probes.simulator import anthropic as sim_anthropic
from probes.simulator import gemini as sim_gemini
from probes.simulator import openai_responses as sim_openai
from probes.simulator import perplexity_agent as sim_perplexity_agent
from probes.simulator import serpapi as sim_serpapi
from probes.simulator import serpapi_ai_mode as sim_ai_mode
from probes.simulator.scenario import (
    Scenario,
    Segment,
    SimulatedAnswer,
    Site,
    domain_of,
)
from storage import compression, sources
from storage.records import EntityRow, KeywordRow, ObservationRecord
from storage.sources import SourceRow
from storage.tally import tally

# --- the world -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    id: str
    kind: str
    model: str
    per_call: float = 0.0
    input_per_million: float = 0.0
    output_per_million: float = 0.0
    brand_bias: float = 0.0
    latency_ms: int = 4000

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:  # monitor.config.Price.cost
        return (self.per_call + (input_tokens or 0) * self.input_per_million / 1e6
                + (output_tokens or 0) * self.output_per_million / 1e6)


ENGINES = (
    Engine("chatgpt", "openai", "gpt-5-mini", 0.0, 0.25, 2.0, 0.0, 9000),
    Engine("perplexity", "perplexity_agent", "perplexity/sonar", 0.005, 0.25, 2.5, 0.1, 6000),
    Engine("gemini", "gemini", "gemini-2.5-flash", 0.0, 0.30, 2.50, -0.1, 5000),
    Engine("claude", "anthropic", "claude-sonnet-4-5", 0.01, 3.0, 15.0, 0.05, 14000),
    Engine("google", "serpapi", "google", 0.015, 0.0, 0.0, -0.05, 2500),
    Engine("google_ai_mode", "serpapi_ai_mode", "google_ai_mode", 0.015, 0.0, 0.0, 0.0, 4000),
)

BRAND = EntityRow("Hengda Valve", "brand", aliases=("Hengda", "Hengda Valves", "恒达阀门"),
                  domains=("hengdavalve.com",), people=("Li Wei",), titles=("Cryogenic Seat Leakage Study",))
COMPETITORS = (
    EntityRow("Apex Flow Controls", "competitor", aliases=("Apex Flow", "ApexFlow"), domains=("apexflow.com",)),
    EntityRow("NorthStar Valves", "competitor", aliases=("NorthStar",), domains=("northstarvalves.de",)),
    EntityRow("Kaixin Valve", "competitor", aliases=("Zhejiang Kaixin", "凯鑫阀门"), domains=("kaixinvalve.cn",)),
)
ENTITIES = (BRAND, *COMPETITORS)

PRODUCTS = (
    ("ball valve", "球阀"), ("trunnion ball valve", "固定球阀"), ("floating ball valve", "浮动球阀"),
    ("gate valve", "闸阀"), ("globe valve", "截止阀"), ("butterfly valve", "蝶阀"),
    ("triple offset butterfly valve", "三偏心蝶阀"), ("check valve", "止回阀"), ("swing check valve", "旋启式止回阀"),
    ("plug valve", "旋塞阀"), ("needle valve", "针阀"), ("control valve", "调节阀"), ("safety valve", "安全阀"),
    ("pressure relief valve", "泄压阀"), ("knife gate valve", "刀闸阀"), ("diaphragm valve", "隔膜阀"),
    ("cryogenic valve", "低温阀"), ("y strainer", "Y型过滤器"), ("pneumatic actuator", "气动执行器"),
    ("electric actuator", "电动执行器"), ("forged steel valve", "锻钢阀门"), ("pipeline valve", "管线阀"),
)
MODIFIERS = (
    "{p} manufacturer", "{p} supplier", "{p} manufacturer china", "{p} price", "best {p} brands",
    "API 6D {p}", "stainless steel {p}", "carbon steel {p}", "high pressure {p}", "{p} for oil and gas",
    "{p} for LNG", "{p} wholesale", "how to choose a {p}", "{p} specification", "{p} vs gate valve",
    "{p} datasheet", "industrial {p}", "{p} exporter", "{p} lead time", "{p} certification",
    "fire safe {p}", "{p} for water treatment", "{p} 2 inch", "{p} class 600",
)
TAG_OF_MODIFIER = ("manufacturer", "supplier", "china", "price", "brands", "api", "material", "material",
                   "pressure", "oil-gas", "lng", "wholesale", "guide", "spec", "comparison", "spec", "industrial",
                   "export", "lead-time", "certification", "fire-safe", "water", "size", "pressure")

STANDARDS = ("API 6D", "API 608", "ISO 17292", "ASME B16.34", "EN 12516", "API 598", "ISO 15848-1", "API 607",
             "API 600", "BS 6364", "NACE MR0175", "PED 2014/68/EU", "SIL 3", "ISO 5211")
MATERIALS = ("CF8M", "WCB", "LCC", "A105", "duplex 2205", "F51", "CF3M", "Inconel 625", "Monel 400", "LF2",
             "A216 WCC", "F316L")
CLASSES = ("Class 150", "Class 300", "Class 600", "Class 900", "Class 1500", "Class 2500", "PN16", "PN40")
SIZES = ('1/2"', '1"', '2"', '4"', '6"', '8"', '12"', '16"', '24"', '36"', '48"', "DN50", "DN150")
MARKETS = ("Germany", "Saudi Arabia", "Brazil", "Vietnam", "the UAE", "Mexico", "Australia", "Nigeria",
           "Indonesia", "Canada", "Kazakhstan", "Chile", "Poland", "Egypt", "India")
SERVICES = ("cryogenic service", "sour gas", "steam lines", "slurry", "seawater", "hydrogen", "chlor-alkali",
            "district heating", "LNG terminals", "refinery turnarounds", "offshore platforms", "pipelines")

OPENERS = (
    "For {kw}, buyers usually compare a few established manufacturers before asking for quotes.",
    "When sourcing {kw}, start with certified suppliers that publish test data and material certificates.",
    "Here is a short overview of {kw}: what matters in the specification and who makes them well.",
    "Choosing {kw} comes down to the service conditions, the standards you need and the supplier's track record.",
    "The {kw} market is crowded; the brands below come up most often in engineering forums and tenders.",
    "{kw} are specified by pressure class, size, body material and end connection, in that order.",
    "Below are the main options for {kw}, with notes on certifications, lead times and typical prices.",
    "If you need {kw} for {service}, narrow the list to makers with documented qualification tests.",
)
BRAND_LINES = (
    "{name} is often recommended for its {std} certified range and lead times of {n} to {m} weeks.",
    "{name} publishes detailed pressure test reports to {std}, which procurement teams value.",
    "Many distributors in {market} shortlist {name} because it exports to over {n}0 countries.",
    "{name} offers {p} in {mat} from {size} to {size2}, {cls} and above.",
    "Engineers mention {name} for {service}, where its fugitive emission tests to {std} stand out.",
    "{name} ({name_zh}) is a {city}-based manufacturer with in-house casting and {std} certification.",
    "For {cls} {p}, {name} is a cost-effective option with third-party inspection available.",
    "{name} has supplied {p} to projects in {market} and {market2}, according to its case studies.",
)
COMPETITOR_LINES = (
    "{name} is a well-known alternative with a broad catalogue of {p}.",
    "{name} competes on price for standard sizes such as {size} and {size2}.",
    "Some engineers prefer {name} for {service}, citing its {std} qualification.",
    "{name} holds {std} and {std2} certificates and stocks {mat} bodies.",
    "{name} is strong in {market}, with local service centres and short delivery.",
    "For large bores up to {size2}, {name} is frequently specified in tenders.",
)
NEUTRAL_LINES = (
    "Check the pressure class, body material and end connection before ordering.",
    "Independent standards such as {std} and {std2} define the key tests.",
    "Ask for material certificates (EN 10204 3.1) with every shipment.",
    "For {service}, {mat} bodies with {mat2} trim are a common choice.",
    "Typical lead times are {n} to {m} weeks for {cls} valves in {size} to {size2}.",
    "Fire-safe testing to {std} matters for hydrocarbon service.",
    "Prices for a {size} {cls} {p} range from about ${n}00 to ${m}00 depending on material.",
    "Forum users in {market} report that after-sales support matters as much as the unit price.",
    "A factory audit or third-party inspection (SGS, BV, TÜV) reduces quality risk with new suppliers.",
    "Low-emission packing certified to {std} is now required by many operators.",
    "Compare warranty terms: {n} months from installation is common among reputable makers.",
    "Spare parts availability in {market} should be confirmed before placing a framework order.",
    "{std} specifies the shell and seat test pressures, and {std2} the fire test.",
    "Marketplaces list many sellers of {p}, but verify that the factory, not a trader, is quoting.",
)
CLOSERS = (
    "In short, shortlist two or three suppliers and compare their test reports and delivery terms.",
    "Request samples and a full quality dossier before committing to volume.",
    "The right choice depends on your service conditions; share them with suppliers to get accurate quotes.",
    "Overall, certified manufacturers with export experience are the safest option.",
)
ZH_OPENERS = ("关于{kw}，采购方通常会比较几家成熟的制造商。", "选择{kw}时，应优先考虑公开测试数据的认证供应商。",
              "{kw}的选型主要取决于压力等级、材质和连接方式。")
ZH_BRAND_LINES = ("{name_zh}的 {std} 认证产品线和较短的交货期常被推荐。", "许多海外分销商把{name_zh}列入候选名单。",
                  "{name_zh}可提供 {mat} 材质、{cls} 的{p}。")
ZH_COMPETITOR_LINES = ("{name_zh}是产品目录较全的知名替代品牌。", "{name_zh}在标准规格上价格有竞争力。")
ZH_NEUTRAL_LINES = ("下单前请核对压力等级、阀体材料和连接方式。", "每批货物都应索取 EN 10204 3.1 材质证书。",
                    "{std} 和 {std2} 规定了主要的测试要求。", "交货期通常为 {n} 至 {m} 周。")
ZH_NAMES = {"Hengda Valve": "恒达阀门", "Apex Flow Controls": "艾派克斯", "NorthStar Valves": "北星阀门",
            "Kaixin Valve": "凯鑫阀门"}

EDITORIAL = ("valvemagazine.com", "thomasnet.com", "forbes.com", "reuters.com", "processingmagazine.com",
             "chemengonline.com", "pipeline-journal.net", "hydrocarbonprocessing.com", "engineering.com")
FORUMS = ("reddit.com", "eng-tips.com", "quora.com", "cr4.globalspec.com")
REFERENCE = ("en.wikipedia.org", "api.org", "iso.org", "asme.org", "britannica.com")
MARKETPLACES = ("alibaba.com", "made-in-china.com", "globalsources.com", "indiamart.com", "amazon.com")
MANUFACTURERS = ("emerson.com", "flowserve.com", "velan.com", "kitz.com", "swagelok.com", "cameron.slb.com",
                 "ksb.com", "bray.com", "valmet.com", "neway.com.cn")
BRAND_CITY = "Wenzhou"


def slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split()) or "valve"


def rng_of(*parts: object) -> random.Random:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass
class KeywordWorld:
    row: KeywordRow
    product: str
    product_zh: str
    chinese: bool
    brand_rate: float  # base probability an answer cites the brand
    brand_pages: list[tuple[str, str]]
    competitor_pages: list[list[tuple[str, str]]]
    neutral_pages: list[tuple[str, str]]
    neutral_weights: list[float]


def build_keywords(count: int, seed: int) -> list[KeywordWorld]:
    rng = rng_of("keywords", seed)
    combos = [(p, zh, m, t) for p, zh in PRODUCTS for m, t in zip(MODIFIERS, TAG_OF_MODIFIER, strict=True)]
    rng.shuffle(combos)
    worlds: list[KeywordWorld] = []
    seen: set[str] = set()
    for index in range(count):
        product, zh, modifier, tag = combos[index % len(combos)]
        kind = rng.random()
        chinese = kind < 0.05
        branded = 0.05 <= kind < 0.09
        if chinese:
            text = f"{zh}{rng.choice(('厂家', '供应商', '价格', '出口'))}"
        elif branded:
            text = f"hengda {product} {rng.choice(('price', 'review', 'catalogue', 'distributor'))}"
        else:
            text = modifier.format(p=product)
        base = text
        n = 2
        while text in seen:
            text = f"{base} {n}"
            n += 1
        seen.add(text)
        family = product.split()[-1] if product.split()[-1] in ("valve", "strainer", "actuator") else "valve"
        prompt = (f"{text}，有哪些推荐的品牌？" if chinese
                  else f"Which companies are the best choice for {text}? Compare suppliers.")
        weight = rng.choice((1.0, 1.0, 1.0, 1.0, 0.5, 2.0, 2.0, 3.0))
        tags = [family, tag, rng.choice(("commercial", "informational", "transactional"))]
        if chinese:
            tags.append("zh")
        row = KeywordRow(text=text, prompt=prompt, tags=tags, weight=weight,
                         country="CN" if chinese else rng.choice(("US", "US", "DE", "GB", "AE", "BR")),
                         language="zh" if chinese else "en", branded=branded)
        s = slug(product)
        brand_pages = [
            (f"https://www.hengdavalve.com/products/{s}", f"{product.title()} | Hengda Valve"),
            (f"https://www.hengdavalve.com/products/{s}/{slug(text)}", f"{text.title()} - Hengda Valve"),
            (f"https://www.hengdavalve.com/blog/how-to-choose-{s}", f"How to Choose a {product.title()}"),
            ("https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf", "Cryogenic Seat Leakage Study"),
            (f"https://www.hengdavalve.com/downloads/{s}-datasheet.pdf", f"{product.title()} Datasheet (PDF)"),
            (f"https://www.youtube.com/watch?v=hd{hashlib.md5(s.encode()).hexdigest()[:9]}",
             f"Hengda {product} factory test - YouTube"),
            ("https://www.hengdavalve.com/", "Hengda Valve - Industrial Valve Manufacturer"),
        ]
        competitor_pages = [
            [(f"https://www.apexflow.com/products/{s}", f"{product.title()}s | Apex Flow Controls"),
             (f"https://blog.apexflow.com/{s}-selection-guide", f"{product.title()} Selection Guide"),
             (f"https://www.apexflow.com/compare/{s}-vs-gate-valve", f"{product.title()} vs Gate Valve")],
            [(f"https://northstarvalves.de/en/{s}", f"{product.title()} - NorthStar"),
             ("https://northstarvalves.de/en/news/2026-expansion", "NorthStar expands capacity")],
            [(f"https://www.kaixinvalve.cn/en/product/{s}.html", f"{product.title()} - Zhejiang Kaixin Valve Co."),
             (f"https://www.kaixinvalve.cn/en/news/{rng.randint(100, 999)}.html", "Kaixin Valve exhibition news")],
        ]
        neutral: list[tuple[str, str]] = []
        for domain in rng.sample(EDITORIAL, 4):
            neutral.append((f"https://www.{domain}/articles/{s}-{rng.choice(('market-outlook', 'buyers-guide', 'top-manufacturers', 'trends'))}-{rng.randint(2024, 2026)}",
                            f"{product.title()} {rng.choice(('Market Outlook', 'Buyers Guide', 'Top Manufacturers', 'Trends'))} | {domain}"))
        neutral.append((f"https://www.reddit.com/r/engineering/comments/{rng.randint(10**5, 10**6):x}/{s.replace('-', '_')}_brands",
                        f"Which {product} brands do you trust? : r/engineering"))
        neutral.append((f"https://www.reddit.com/r/PipingDesign/comments/{rng.randint(10**5, 10**6):x}/{slug(text)}",
                        f"{text} recommendations : r/PipingDesign"))
        neutral.append((f"https://www.eng-tips.com/viewthread.cfm?qid={rng.randint(10**5, 10**6)}",
                        f"{product.title()} leakage after commissioning - Eng-Tips"))
        neutral.append((f"https://www.quora.com/What-is-the-best-{s}-manufacturer", f"What is the best {product} manufacturer? - Quora"))
        neutral.append((f"https://en.wikipedia.org/wiki/{product.title().replace(' ', '_')}", f"{product.title()} - Wikipedia"))
        neutral.append(("https://www.api.org/products-and-services/standards", "API Standards"))
        neutral.append((f"https://www.iso.org/standard/{rng.randint(40000, 80000)}.html", "ISO 17292:2015 - Metal ball valves"))
        for domain in rng.sample(MARKETPLACES, 3):
            neutral.append((f"https://www.{domain}/showroom/{s}.html", f"{product.title()} - Wholesale Suppliers - {domain}"))
        for domain in rng.sample(MANUFACTURERS, 5):
            neutral.append((f"https://www.{domain}/en-us/products/{s}", f"{product.title()}s | {domain.split('.')[0].title()}"))
        neutral.append((f"https://www.youtube.com/watch?v={hashlib.md5((s + 'how').encode()).hexdigest()[:11]}",
                        f"How a {product} works - YouTube"))
        neutral.append((f"https://www.linkedin.com/pulse/{slug(text)}-{rng.randint(1000, 9999)}", f"{text.title()} | LinkedIn"))
        weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(neutral))]
        rng.shuffle(weights)
        brand_rate = min(0.85, max(0.05, rng.betavariate(2, 3) + (0.3 if branded else 0.0)))
        worlds.append(KeywordWorld(row, product, zh, chinese, brand_rate, brand_pages, competitor_pages, neutral,
                                   weights))
    return worlds


# --- composing, rendering, parsing ---------------------------------------------------------------------

def _fill(template: str, rng: random.Random, kw: KeywordWorld, name: str = "") -> str:
    n = rng.randint(2, 9)
    return template.format(
        kw=kw.row.text, p=kw.product if not kw.chinese else kw.product_zh,
        name=name, name_zh=ZH_NAMES.get(name, name), std=rng.choice(STANDARDS), std2=rng.choice(STANDARDS),
        mat=rng.choice(MATERIALS), mat2=rng.choice(MATERIALS), cls=rng.choice(CLASSES), size=rng.choice(SIZES),
        size2=rng.choice(SIZES), market=rng.choice(MARKETS), market2=rng.choice(MARKETS),
        service=rng.choice(SERVICES), n=n, m=n + rng.randint(2, 8), city=BRAND_CITY)


def compose(kw: KeywordWorld, engine: Engine, day_index: int, days: int, sample: int, seed: int,
            rng: random.Random) -> tuple[list[Segment], list[tuple[str, str]]]:
    """The abstract answer (segments and their sources) and the pages retrieved but not cited."""
    zh = kw.chinese
    openers, brand_lines, comp_lines, neutral_lines = (
        (ZH_OPENERS, ZH_BRAND_LINES, ZH_COMPETITOR_LINES, ZH_NEUTRAL_LINES) if zh
        else (OPENERS, BRAND_LINES, COMPETITOR_LINES, NEUTRAL_LINES))
    trend = 0.12 * day_index / max(1, days)  # content work paying off, slowly
    weekly = 0.03 if (day_index // 7) % 4 == 0 else 0.0
    brand_rate = kw.brand_rate + engine.brand_bias + trend + weekly
    segments = [Segment(_fill(rng.choice(openers), rng, kw))]
    picks: list[Segment] = []
    brand_cited = rng.random() < brand_rate
    if brand_cited:
        sources = [rng.choice(kw.brand_pages)]
        if rng.random() < 0.25:
            sources.append(rng.choice(kw.brand_pages))
        picks.append(Segment(_fill(rng.choice(brand_lines), rng, kw, BRAND.name), sources))
    elif rng.random() < 0.3:  # named without being cited
        picks.append(Segment(_fill(rng.choice(brand_lines), rng, kw, BRAND.name)))
    for competitor, pages in zip(COMPETITORS, kw.competitor_pages, strict=True):
        chance = rng.random()
        if chance < 0.45:
            picks.append(Segment(_fill(rng.choice(comp_lines), rng, kw, competitor.name), [rng.choice(pages)]))
        elif chance < 0.6:
            picks.append(Segment(_fill(rng.choice(comp_lines), rng, kw, competitor.name)))
    neutral_count = rng.randint(3, 8)
    chosen = rng.choices(kw.neutral_pages, kw.neutral_weights, k=neutral_count + 4)
    for page in chosen[:neutral_count]:
        sources = [page]
        if rng.random() < 0.15:
            sources.append(rng.choice(chosen))
        picks.append(Segment(_fill(rng.choice(neutral_lines), rng, kw), sources))
    if rng.random() < 0.5:
        picks.append(Segment(_fill(rng.choice(neutral_lines), rng, kw)))
    rng.shuffle(picks)
    segments.extend(picks)
    if not zh:
        segments.append(Segment(rng.choice(CLOSERS)))
    cited = {url for s in segments for url, _ in s.sources}
    extra = [page for page in chosen[neutral_count:] if page[0] not in cited]
    extra += [page for page in rng.sample(kw.neutral_pages, 4) if page[0] not in cited and page not in extra]
    return segments, extra


def _organic_page(kw: KeywordWorld, answer: SimulatedAnswer, rng: random.Random, brand_rate: float) -> list[dict]:
    pool = list(kw.neutral_pages)
    for pages in kw.competitor_pages:
        pool.append(pages[0])
    rng.shuffle(pool)
    results = pool[:10]
    if rng.random() < brand_rate + 0.15:
        results.insert(rng.randint(0, 7), kw.brand_pages[rng.randint(0, 1)])
        results = results[:10]
    organic = []
    for rank, (url, title) in enumerate(results, start=1):
        domain = domain_of(url)
        entry = {"position": rank, "title": title, "link": url,
                 "redirect_link": f"https://www.google.com/url?sa=t&source=web&rct=j&url={url}&ved=2ahUKEwi{answer.ident[:12]}",
                 "displayed_link": f"https://{domain} › {' › '.join(url.split('/')[3:5])}",
                 "favicon": f"https://serpapi.com/searches/{answer.ident[:16]}/images/{rank:02d}favicon.png",
                 "snippet": f"{title}. {_fill(rng.choice(NEUTRAL_LINES), rng, kw)}",
                 "snippet_highlighted_words": [kw.product], "source": domain.split(".")[0].title()}
        if rng.random() < 0.3:
            entry["date"] = f"{rng.choice(('Jan', 'Mar', 'May', 'Aug', 'Oct'))} {rng.randint(1, 28)}, {rng.choice((2024, 2025, 2026))}"
        if rng.random() < 0.2:
            entry["sitelinks"] = {"inline": [{"title": t, "link": f"https://{domain}/{slug(t)}"}
                                             for t in ("Products", "Contact", "About us")]}
        organic.append(entry)
    return organic


def _enrich_page(page: dict, kw: KeywordWorld, answer: SimulatedAnswer, rng: random.Random, brand_rate: float) -> dict:
    page["organic_results"] = _organic_page(kw, answer, rng, brand_rate)
    page["related_questions"] = [
        {"question": q.format(p=kw.product), "snippet": _fill(rng.choice(NEUTRAL_LINES), rng, kw),
         "title": t, "link": u, "list": [], "next_page_token": "eyJvbnMiOiIxMDA0MSIsImZjIjoi" + answer.ident,
         "serpapi_link": f"https://serpapi.com/search.json?device=desktop&engine=google_related_questions&next_page_token={answer.ident}"}
        for q, (u, t) in zip(("What is the best {p} brand?", "How much does a {p} cost?",
                              "Which {p} is used for high pressure?", "What is the difference between a {p} and a gate valve?"),
                             rng.sample(kw.neutral_pages, 4), strict=True)]
    page["related_searches"] = [{"block_position": 1, "query": f"{kw.product} {w}",
                                 "link": f"https://www.google.com/search?q={slug(kw.product + ' ' + w).replace('-', '+')}",
                                 "serpapi_link": f"https://serpapi.com/search.json?engine=google&q={slug(kw.product + ' ' + w).replace('-', '+')}"}
                                for w in rng.sample(("price", "manufacturers", "china", "catalogue pdf", "types", "symbol",
                                                     "working principle", "suppliers near me", "api 6d", "class 300"), 6)]
    if rng.random() < 0.4:
        page["inline_videos"] = [{"position": 1, "title": f"How a {kw.product} works", "link": kw.neutral_pages[-2][0],
                                  "source": "YouTube", "channel": "Valve Academy", "duration": f"{rng.randint(3, 14)}:{rng.randint(10, 59)}"}]
    page["pagination"] = {"current": 1, "next": "https://www.google.com/search?q=...&start=10",
                          "other_pages": {str(n): f"https://www.google.com/search?q=...&start={10 * (n - 1)}" for n in range(2, 6)}}
    page["serpapi_pagination"] = {"current": 1, "next_link": "https://serpapi.com/search.json?engine=google&start=10",
                                  "next": "https://serpapi.com/search.json?engine=google&start=10"}
    return page


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=2).encode()


RENDERERS = {"openai": sim_openai, "perplexity_agent": sim_perplexity_agent, "gemini": sim_gemini,
             "anthropic": sim_anthropic, "serpapi": sim_serpapi, "serpapi_ai_mode": sim_ai_mode}


def render_raw(kw: KeywordWorld, engine: Engine, segments: list[Segment], extra: list[tuple[str, str]], day: date,
               ident: str, rng: random.Random, brand_rate: float) -> RawResult:
    scenario = Scenario(brand=Site(BRAND.name, tuple(kw.brand_pages)), competitors=(), neutral_pages=tuple(extra),
                        day=day.isoformat())
    prompt = kw.row.text if engine.kind.startswith("serpapi") else (kw.row.prompt or kw.row.text)
    answer = SimulatedAnswer(segments, scenario, prompt, engine.model, ident)
    if engine.kind == "serpapi":
        body = {"engine": "google", "q": prompt, "gl": (kw.row.country or "us").lower(), "hl": kw.row.language}
        first = sim_serpapi.render_request(answer, "/search.json", body)
        first = _enrich_page(first, kw, answer, rng, brand_rate)
        overview = first.get("ai_overview")
        if overview and "page_token" in overview:
            follow = sim_serpapi.render_request(answer, "/search.json",
                                                {"engine": "google_ai_overview", "page_token": overview["page_token"]})
            return RawResult((RawPart(RESPONSE, _dumps(first), JSON), RawPart("ai_overview", _dumps(follow), JSON)))
        return RawResult.single(_dumps(first))
    wire = RENDERERS[engine.kind]
    body = wire.render(answer)
    if engine.kind == "openai":  # real Responses bodies carry a reasoning item with an encrypted blob
        body["output"].insert(0, {"id": f"rs_{ident}", "type": "reasoning", "summary": [],
                                  "encrypted_content": _opaque(ident, 1200 + rng.randint(0, 1500))})
    return RawResult.single(json.dumps(body, ensure_ascii=False).encode())


def _opaque(seed: str, size: int) -> str:
    import base64
    digest = b"".join(hashlib.sha256(f"{seed}|{i}".encode()).digest() for i in range(size // 32 + 1))
    return "gAAAAA" + base64.urlsafe_b64encode(digest[:size]).decode()


FAILURES = (("error", "timeout after 60.0 s"), ("error", "HTTP 429: rate limited (retry after 30 s)"),
            ("error", "HTTP 500: upstream server error"), ("error", "HTTP 503: service unavailable"),
            ("error", "connection reset by peer"))


def observe(world: World, day_index: int, ki: int, ei: int, sample: int) -> ObservationRecord:
    """One observation, exactly as the pipeline's build_record would make it from the same raw result."""
    kw, engine = world.keywords[ki], ENGINES[ei]
    day = world.first_day + timedelta(days=day_index)
    rng = rng_of(world.seed, day_index, ki, ei, sample)
    ident = hashlib.sha256(f"{world.seed}|{day}|{ki}|{ei}|{sample}".encode()).hexdigest()[:24]
    started = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    slot = (ki * len(ENGINES) + ei) * world.samples + sample
    observed_at = started + timedelta(seconds=slot * 0.8 + rng.random() * 30, microseconds=rng.randint(0, 999999))
    latency = int(engine.latency_ms * rng.lognormvariate(0, 0.35))
    record = ObservationRecord(run_id=world.run_id(day_index), keyword=kw.row.text, engine_id=engine.id,
                               engine_kind=engine.kind, sample_index=sample, observed_at=observed_at,
                               status=ERROR, latency_ms=latency)
    fate = rng.random()
    if fate < 0.003:
        record.status, record.error, record.latency_ms = SKIPPED, f"daily budget of {engine.id} spent", None
        return record
    if fate < 0.023:
        status, reason = ((BLOCKED, "captcha: unusual traffic from your computer network")
                          if engine.kind.startswith("serpapi") and rng.random() < 0.3 else rng.choice(FAILURES))
        record.status, record.error = status, reason
        return record
    segments, extra = compose(kw, engine, day_index, world.days, sample, world.seed, rng)
    brand_rate = kw.brand_rate + engine.brand_bias
    raw = render_raw(kw, engine, segments, extra, day, ident, rng, brand_rate).map_text_parts(elide_opaque)
    record.raw = raw
    record.cost = engine.per_call
    answer = apply_payload(record, raw, engine.kind, world.tracking)
    if answer is not None:
        record.cost = answer.cost if answer.cost is not None else engine.cost(answer.input_tokens, answer.output_tokens)
    return record


@dataclass
class World:
    seed: int
    days: int
    first_day: date
    samples: int
    keywords: list[KeywordWorld]
    tracking: Tracking
    first_run_id: int = 1

    def run_id(self, day_index: int) -> int:
        return self.first_run_id + day_index

    def observation_id(self, day_index: int, ki: int, ei: int, sample: int) -> int:
        per_day = len(self.keywords) * len(ENGINES) * self.samples
        return day_index * per_day + (ki * len(ENGINES) + ei) * self.samples + sample + 1


def make_world(seed: int, days: int, end: date, keywords: int, samples: int) -> World:
    tracking = Tracking(tuple(EntitySpec(e.name, e.kind, tuple(e.aliases), tuple(e.domains), tuple(e.people),
                                         tuple(e.titles)) for e in ENTITIES))
    return World(seed, days, end - timedelta(days=days - 1), samples, build_keywords(keywords, seed), tracking)


# --- rows ----------------------------------------------------------------------------------------------

def sqlite_time(value: datetime) -> str:
    """How SQLAlchemy's SQLite DateTime stores a value."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


OBSERVATION_COLUMNS = ("id", "run_id", "keyword_id", "engine_id", "engine_kind", "sample_index", "observed_at",
                       "status", "error", "raw_hash", "parser_version", "answer", "answer_dictionary_id",
                       "answer_chars", "has_answer", "search_pool", "model", "search_queries", "latency_ms",
                       "input_tokens", "output_tokens", "cost")
RAW_COLUMNS = ("hash", "size", "data", "created_at", "codec", "dictionary_id")
PART_COLUMNS = ("observation_id", "ordinal", "name", "media_type", "raw_hash")
SOURCE_COLUMNS = ("id", "hash", *SourceRow._fields)
# source_id is a source's hash until the writer, which numbers sources in the order save_observation would
# origin is the name until the writer, which stores it as its interned id
CITATION_COLUMNS = ("observation_id", "position", "source_id", "visible", "cited", "origin", "spans", "visibility")
MENTION_COLUMNS = ("observation_id", "entity_id", "alias", "count", "first_offset", "rank", "third")
ORGANIC_COLUMNS = ("observation_id", "rank", "source_id", "snippet")
FEATURE_COLUMNS = ("observation_id", "name")
TABLES = (("source", SOURCE_COLUMNS), ("raw_payload", RAW_COLUMNS), ("observation", OBSERVATION_COLUMNS),
          ("observation_part", PART_COLUMNS),
          ("citation", CITATION_COLUMNS), ("mention", MENTION_COLUMNS), ("organic_result", ORGANIC_COLUMNS),
          ("observation_feature", FEATURE_COLUMNS))


@dataclass
class Batch:
    rows: dict[str, list[tuple]]
    sources: list[tuple[str, SourceRow]]  # each source the batch names, in order of first use
    rollups: dict[str, dict[tuple, dict[str, float]]]
    observations: int
    raw_bytes: int


# worker state (set by _init)
_W: dict[str, Any] = {}


def _memoize_analysis() -> None:
    """The analysis' pure per-URL functions memoized in this worker (the same URLs recur all year): the same
    results, less CPU. Mentions, visibility and parsing still run on every answer."""
    from functools import lru_cache

    from monitor import enrich
    for name in ("owner_of", "source_url", "normalize_url", "registrable_domain"):
        function = getattr(enrich, name)
        if not hasattr(function, "cache_info"):
            setattr(enrich, name, lru_cache(maxsize=200_000)(function))
    if not hasattr(Tracking.classify, "cache_info"):
        Tracking.classify = lru_cache(maxsize=200_000)(Tracking.classify)  # type: ignore[method-assign]


def _init(config: dict[str, Any]) -> None:
    _memoize_analysis()
    world = make_world(config["seed"], config["days"], config["end"], config["keywords"], config["samples"])
    world.first_run_id = config["first_run_id"]
    _W.update(world=world, dictionaries={kind: compression.Dictionary(i, d) for kind, (i, d) in config["dictionaries"].items()},
              ids=config["ids"], sqlite=config["sqlite"])


def synthesize(task: tuple[int, int, int]) -> Batch:
    """The rows of keywords [k0, k1) of one day, with their rollups (in a worker)."""
    from storage.rollups import Accumulator
    day_index, k0, k1 = task
    world: World = _W["world"]
    ids = _W["ids"]
    entity_ids, keyword_ids, brand = ids["entities"], ids["keywords"], ids["brand"]
    sqlite = _W["sqlite"]
    as_time = sqlite_time if sqlite else (lambda v: v.astimezone(UTC).replace(tzinfo=None))
    as_bool = int if sqlite else bool
    rows: dict[str, list[tuple]] = {name: [] for name, _ in TABLES}
    accumulator = Accumulator()
    day = world.first_day + timedelta(days=day_index)
    raw_bytes = 0
    seen: set[str] = set()
    named: dict[str, SourceRow] = {}
    count = 0
    for ki in range(k0, k1):
        keyword_id = keyword_ids[world.keywords[ki].row.text]
        for ei in range(len(ENGINES)):
            for sample in range(world.samples):
                record = observe(world, day_index, ki, ei, sample)
                record.map_texts(storable)
                oid = world.observation_id(day_index, ki, ei, sample)
                hashes = []
                if record.raw is not None:
                    for ordinal, part in enumerate(record.raw.parts):
                        digest = hashlib.sha256(part.data).hexdigest()
                        hashes.append(digest)
                        if digest not in seen:
                            seen.add(digest)
                            packed = compression.compress(part.data, _W["dictionaries"].get(record.engine_kind))
                            raw_bytes += len(packed.data)
                            rows["raw_payload"].append((digest, len(part.data), packed.data,
                                                        as_time(record.observed_at), packed.codec, packed.dictionary_id))
                        rows["observation_part"].append((oid, ordinal, part.name, part.media_type, digest))
                answer = (compression.compress(record.answer_text.encode(),
                                               _W["dictionaries"].get(record.engine_kind))
                          if record.answer_text is not None else None)
                rows["observation"].append((
                    oid, record.run_id, keyword_id, record.engine_id, record.engine_kind, record.sample_index,
                    as_time(record.observed_at), record.status, record.error, hashes[0] if hashes else None,
                    record.parser_version, answer.data if answer else None, answer.dictionary_id if answer else None,
                    len(record.answer_text) if answer else None, as_bool(record.has_answer),
                    as_bool(record.search_pool), record.model, json.dumps(record.search_queries),
                    record.latency_ms, record.input_tokens, record.output_tokens, record.cost))
                owner = lambda name: entity_ids.get(name) if name else None  # noqa: E731
                pages = {}
                for c in record.citations:
                    page = sources.citation_source(c.url, c.normalized_url, c.domain, c.title, owner(c.owner),
                                                   c.content_type, c.domain_class)
                    pages[page.hash] = page
                    rows["citation"].append((
                        oid, c.position, page.hash, as_bool(c.visible), as_bool(c.cited), c.origin,
                        json.dumps([list(span) for span in c.spans]), c.visibility))
                for m in record.mentions:
                    rows["mention"].append(
                        (oid, entity_ids[m.entity], m.alias, m.count, m.first_offset, m.rank, m.third))
                for o in record.organic:
                    page = sources.organic_source(o.url, o.domain, o.title, owner(o.owner), o.content_type)
                    pages[page.hash] = page
                    rows["organic_result"].append((oid, o.rank, page.hash, o.snippet))
                for digest in sorted(pages):  # save_observation stores an observation's new pages in hash order
                    named.setdefault(digest, pages[digest])
                for name in dict.fromkeys(record.features):
                    rows["observation_feature"].append((oid, name))
                accumulator.add(day, record.engine_id, keyword_id, tally(record, brand), entity_ids)
                count += 1
    rollups = {model.__tablename__: {key: dict(cells) for key, cells in table.items()}
               for model, table in accumulator.rows.items()}
    return Batch(rows, list(named.items()), rollups, count, raw_bytes)


def training_payloads(task: tuple[int, list[tuple[int, int, int]]]) -> tuple[int, list[bytes]]:
    ei, picks = task
    world: World = _W["world"]
    out = []
    for day_index, ki, sample in picks:
        record = observe(world, day_index, ki, ei, sample)
        if record.raw is not None:
            out.extend(part.data for part in record.raw.parts if part.is_text)
    return ei, out


# --- the writer ----------------------------------------------------------------------------------------

class Writer:
    def __init__(self, db: Any) -> None:
        from sqlalchemy import select

        from storage.models import Source
        self.db = db
        self.sqlite = db.dialect.name == "sqlite"
        with db.connect() as connection:  # a resumed load goes on numbering after the sources stored
            self.source_ids: dict[str, int] = dict(connection.execute(select(Source.hash, Source.id)).all())

    def number_sources(self, batch: Batch) -> None:
        """Give the batch's new sources the next ids, then put ids in place of its rows' source hashes."""
        new = []
        for digest, page in batch.sources:
            if digest not in self.source_ids:
                self.source_ids[digest] = len(self.source_ids) + 1
                new.append((self.source_ids[digest], digest, *page))
        batch.rows["source"] = new
        for name, index in (("citation", 2), ("organic_result", 2)):
            batch.rows[name] = [(*row[:index], self.source_ids[row[index]], *row[index + 1:])
                                for row in batch.rows[name]]

    @staticmethod
    def intern_origins(connection: Any, batch: Batch) -> None:
        """Put the interned id of each citation's origin in place of its name, as save_observation stores it."""
        from storage.names import name_ids
        at = CITATION_COLUMNS.index("origin")
        ids = name_ids(connection, {row[at] for row in batch.rows["citation"]})
        batch.rows["citation"] = [(*row[:at], ids[row[at]], *row[at + 1:]) for row in batch.rows["citation"]]

    def write(self, connection: Any, rows: dict[str, list[tuple]]) -> None:
        dbapi = connection.connection.driver_connection
        if self.sqlite:
            cursor = dbapi.cursor()
            for name, columns in TABLES:
                if rows.get(name):
                    verb = "INSERT OR IGNORE" if name == "raw_payload" else "INSERT"
                    cursor.execute("SELECT 1")  # keep the cursor usable after executemany
                    cursor.executemany(f"{verb} INTO {name} ({', '.join(columns)}) VALUES "
                                       f"({', '.join('?' * len(columns))})", rows[name])
            return
        with dbapi.cursor() as cursor:
            for name, columns in TABLES:
                if not rows.get(name):
                    continue
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows[name]:
                        copy.write_row(row)


def _load_world_ids(db: Any, world: World, project: str) -> dict[str, Any]:
    from storage import repository
    ids = repository.sync_project(db, project, ENTITIES, [k.row for k in world.keywords], datetime.now(UTC))
    return {"project_id": ids.project_id, "entities": ids.entity_ids, "keywords": ids.keyword_ids, "brand": ids.brand}


def train_dictionaries(db: Any, world: World, pool: Any, per_kind: int, created: datetime) -> dict[str, tuple[int, bytes]]:
    """One zstd dictionary per engine kind, trained on `per_kind` generated (elided) payloads spread over the
    period, stored in payload_dictionary as storage.payload_store.train_payload_dictionaries does."""
    from sqlalchemy import insert, select

    from storage.models import PayloadDictionary
    with db.connect() as connection:
        existing = {kind: (i, bytes(d)) for i, kind, d in connection.execute(
            select(PayloadDictionary.id, PayloadDictionary.engine_kind, PayloadDictionary.data)
            .order_by(PayloadDictionary.id))}
    if len(existing) >= len({e.kind for e in ENGINES}):
        return existing
    rng = rng_of("training", world.seed)
    tasks = []
    for ei in range(len(ENGINES)):
        picks = [(rng.randrange(world.days), rng.randrange(len(world.keywords)), rng.randrange(world.samples))
                 for _ in range(per_kind)]
        tasks.extend((ei, picks[i:i + 100]) for i in range(0, len(picks), 100))
    samples: dict[int, list[bytes]] = defaultdict(list)
    for ei, payloads in pool.imap(training_payloads, tasks):  # in order: the same dictionary every time
        samples[ei].extend(payloads)
    result = {}
    with db.begin() as connection:
        for ei, engine in enumerate(ENGINES):
            # the kind's most recent distinct payloads, at most MAX_TRAINING_BYTES, as payload_store reads them
            from storage.payload_store import MAX_TRAINING_BYTES
            payloads, total = [], 0
            for payload in dict.fromkeys(samples[ei]):
                payloads.append(payload)
                total += len(payload)
                if total >= MAX_TRAINING_BYTES:
                    break
            data = compression.train_dictionary(payloads)
            dictionary_id = connection.execute(insert(PayloadDictionary).values(
                engine_kind=engine.kind, created_at=created, data=data, sample_count=len(payloads),
                hash=hashlib.sha256(data).hexdigest())).inserted_primary_key[0]
            result[engine.kind] = (dictionary_id, data)
            print(f"dictionary {engine.kind}: {len(data)} bytes from {len(payloads)} payloads ({total / len(payloads):.0f} B avg)",
                  flush=True)
    return result


def _merge_rollups(accumulator: Any, rollups: dict[str, dict[tuple, dict[str, float]]]) -> None:
    from storage.rollups import ROLLUPS
    by_name = {model.__tablename__: model for model in ROLLUPS}
    for name, table in rollups.items():
        target = accumulator.rows[by_name[name]]
        for key, cells in table.items():
            into = target[key]
            for column, value in cells.items():
                into[column] += value


def _days_done(db: Any, world: World, project_id: int) -> int:
    from sqlalchemy import func, select

    from storage.models import Run
    with db.connect() as connection:
        last = connection.execute(select(func.max(Run.started_at)).where(Run.project_id == project_id)).scalar()
    if last is None:
        return 0
    return (last.date() - world.first_day).days + 1


def load(url: str, days: int, end: date, keywords: int, samples: int, seed: int, workers: int, batch_days: int,
         project: str, chunk: int = 25) -> dict[str, float]:
    from sqlalchemy import insert, text

    from storage.db import open_database
    from storage.models import Run
    from storage.rollups import Accumulator

    t0 = time.monotonic()
    db = open_database(url)
    world = make_world(seed, days, end, keywords, samples)
    ids = _load_world_ids(db, world, project)
    # ids of this project's runs and observations: fresh databases only (one project), as a bench needs
    world.first_run_id = 1
    done = _days_done(db, world, ids["project_id"])
    sqlite = db.dialect.name == "sqlite"
    config = dict(seed=seed, days=days, end=end, keywords=keywords, samples=samples, first_run_id=1,
                  dictionaries={}, ids=ids, sqlite=sqlite)
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, _init, (config,)) as pool:
        dictionaries = train_dictionaries(db, world, pool, 2000 if keywords * samples * days >= 2000 else 200,
                                          datetime.combine(world.first_day, datetime.min.time(), UTC))
    config["dictionaries"] = dictionaries
    print(f"world ready in {time.monotonic() - t0:.1f} s; {done} of {days} days already stored", flush=True)
    writer = Writer(db)
    totals: dict[str, float] = defaultdict(float)
    started = time.monotonic()
    planned_per_run = {e.id: {str(ids["keywords"][k.row.text]): samples for k in world.keywords} for e in ENGINES}
    with context.Pool(workers, _init, (config,)) as pool:
        for first in range(done, days, batch_days):
            batch_start = time.monotonic()
            day_indexes = range(first, min(days, first + batch_days))
            tasks = [(d, k, min(keywords, k + chunk)) for d in day_indexes for k in range(0, keywords, chunk)]
            accumulator = Accumulator()
            counts: dict[str, int] = defaultdict(int)
            with db.connect() as connection:
                if sqlite:  # outside any transaction: SQLite ignores it inside one
                    connection.connection.driver_connection.execute("PRAGMA synchronous=OFF")
                with connection.begin():
                    for d in day_indexes:
                        day = world.first_day + timedelta(days=d)
                        run_start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
                        connection.execute(insert(Run), dict(
                            id=world.run_id(d), project_id=ids["project_id"], started_at=run_start,
                            finished_at=run_start + timedelta(hours=2, minutes=10), status=RUN_FINISHED,
                            host="bench", pid=os.getpid(), process_scope=None, planned=planned_per_run))
                        accumulator.add_plan(run_start, planned_per_run)
                    for batch in pool.imap(synthesize, tasks):
                        writer.number_sources(batch)
                        writer.intern_origins(connection, batch)
                        writer.write(connection, batch.rows)
                        _merge_rollups(accumulator, batch.rollups)
                        for name, rows in batch.rows.items():
                            counts[name] += len(rows)
                        totals["raw_bytes"] += batch.raw_bytes
                    rollup_start = time.monotonic()
                    accumulator.write(connection)
                    totals["rollup_seconds"] += time.monotonic() - rollup_start
                    for model, table in accumulator.rows.items():
                        counts[model.__tablename__] += len(table)
                if not sqlite:
                    connection.exec_driver_sql(
                        "SELECT setval('observation_id_seq', (SELECT max(id) FROM observation)),"
                        " setval('run_id_seq', (SELECT max(id) FROM run)),"
                        " setval('source_id_seq', (SELECT max(id) FROM source))")
                    connection.commit()
                else:
                    connection.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")
            for name, count in counts.items():
                totals[name] += count
            elapsed = time.monotonic() - started
            done_days = day_indexes.stop - done
            observations = totals["observation"]
            rows_total = sum(v for k, v in totals.items() if k not in ("raw_bytes", "rollup_seconds"))
            print(f"day {day_indexes.stop}/{days} ({world.first_day + timedelta(days=day_indexes.stop - 1)}): "
                  f"batch {time.monotonic() - batch_start:.1f} s, {observations:.0f} obs, "
                  f"{totals['citation']:.0f} citations, {observations / elapsed:.0f} obs/s, "
                  f"{rows_total / elapsed:.0f} rows/s, eta {(days - day_indexes.stop) * elapsed / done_days / 60:.1f} min",
                  flush=True)
    if sqlite:
        with db.connect() as connection:
            connection.exec_driver_sql("PRAGMA analysis_limit=2000")  # approximate statistics, in seconds
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with db.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    totals["seconds"] = time.monotonic() - started
    print(f"loaded in {totals['seconds']:.0f} s (world and dictionaries {started - t0:.0f} s): "
          + ", ".join(f"{k}={v:.0f}" for k, v in sorted(totals.items())), flush=True)
    return totals


# --- copying a loaded SQLite history into PostgreSQL ----------------------------------------------------

COPY_ORDER = ("project", "tracked_entity", "keyword", "payload_dictionary", "source", "interned_name", "run",
              "engine_spend",
              "raw_payload",
              "observation", "observation_part", "observation_feature", "citation", "mention", "organic_result",
              "kpi_day", "kpi_day_rank", "kpi_day_entity", "kpi_day_content", "kpi_day_domain",
              "kpi_month", "kpi_month_rank", "kpi_month_entity", "kpi_month_content", "kpi_month_domain")


def copy_sqlite_to_postgresql(source: str, url: str, tables: tuple[str, ...] = COPY_ORDER, batch: int = 20_000
                              ) -> None:
    """Every row of a SQLite history (bench/history.py's output) into a fresh PostgreSQL database, as is
    (ids included) with COPY: the same data without synthesizing it again. Foreign-key triggers are off
    during the copy (session_replication_role = replica): the source is consistent."""
    import sqlite3

    from storage.db import open_database
    db = open_database(url)  # creates the schema
    if db.dialect.name != "postgresql":
        raise SystemExit("--copy-from copies into PostgreSQL")
    lite = sqlite3.connect(f"file:{source[len('sqlite:///'):]}?mode=ro", uri=True, isolation_level=None)
    lite.execute("BEGIN")  # one snapshot for every table, even while a load is still writing (WAL)
    started = time.monotonic()
    with db.connect() as connection:
        dbapi = connection.connection.driver_connection
        dbapi.commit()
        with dbapi.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            for table in [t for t in COPY_ORDER if t in tables]:
                t0 = time.monotonic()
                columns = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
                cursor.execute(f"SELECT count(*) FROM {table}")
                if cursor.fetchone()[0]:
                    print(f"{table}: already filled, skipped", flush=True)
                    continue
                rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")
                count = 0
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    while True:
                        chunk = rows.fetchmany(batch)
                        if not chunk:
                            break
                        for row in chunk:
                            copy.write_row(row)
                        count += len(chunk)
                dbapi.commit()
                elapsed = time.monotonic() - t0
                print(f"{table}: {count:,} rows in {elapsed:.0f} s ({count / max(elapsed, 1e-9):,.0f} rows/s)", flush=True)
            for table in ("project", "tracked_entity", "keyword", "payload_dictionary", "source", "interned_name",
                          "run", "observation"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"coalesce((SELECT max(id) FROM {table}), 1))")
            dbapi.commit()
            t0 = time.monotonic()
            cursor.execute("ANALYZE")
            dbapi.commit()
            print(f"ANALYZE in {time.monotonic() - t0:.0f} s; copied in {time.monotonic() - started:.0f} s", flush=True)


# --- the small-scale check -----------------------------------------------------------------------------

def _same(rows_a: list, rows_b: list) -> tuple[bool, float]:
    """Rows equal, REAL cells within a relative 1e-12 (sums of floats depend on the order they are added in:
    one observation at a time, a day's batch, or a rebuild); returns (equal, largest relative float gap)."""
    if len(rows_a) != len(rows_b):
        return False, 0.0
    worst = 0.0
    for x, y in zip(rows_a, rows_b):
        if x == y:
            continue
        if len(x) != len(y):
            return False, worst
        for u, v in zip(x, y):
            if u == v:
                continue
            if isinstance(u, float) or isinstance(v, float):
                gap = abs(u - v) / max(abs(u), abs(v), 1e-300)
                worst = max(worst, gap)
                if gap > 1e-12:
                    return False, worst
            else:
                return False, worst
    return True, worst


def check(folder: Path, days: int = 10, keywords: int = 20, samples: int = 3, seed: int = 7) -> bool:
    """(1) the same tiny world loaded through repository.save_observation and through the bulk path gives
    the same rows in every table; (2) rebuilding the rollups of the bulk-loaded database changes nothing;
    (3) period_metrics agree on both."""
    import sqlite3

    from sqlalchemy import select

    from monitor.metrics import period_metrics
    from storage import repository
    from storage.db import open_database
    from storage.models import PayloadDictionary
    from storage.rollups import NAMED_KEYS, ROLLUPS, rebuild

    folder.mkdir(parents=True, exist_ok=True)
    end = date(2026, 12, 5)
    bulk_path, slow_path = folder / "check_bulk.db", folder / "check_slow.db"
    for path in (bulk_path, slow_path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    t0 = time.monotonic()
    load(f"sqlite:///{bulk_path}", days, end, keywords, samples, seed, os.cpu_count() or 2, 2, "bench", chunk=5)
    print(f"bulk path: {time.monotonic() - t0:.1f} s")

    # the same observations through the normal write path, with the bulk database's dictionaries
    t0 = time.monotonic()
    slow = open_database(f"sqlite:///{slow_path}")
    world = make_world(seed, days, end, keywords, samples)
    ids = repository.sync_project(slow, "bench", ENTITIES, [k.row for k in world.keywords], datetime.now(UTC))
    bulk = open_database(f"sqlite:///{bulk_path}")
    with bulk.connect() as connection:
        dictionaries = connection.execute(select(PayloadDictionary)).mappings().all()
    with slow.begin() as connection:
        for row in dictionaries:
            connection.execute(PayloadDictionary.__table__.insert(), dict(row))
    planned = {e.id: {str(ids.keyword_ids[k.row.text]): samples for k in world.keywords} for e in ENGINES}
    with slow.connect() as connection:
        for d in range(days):
            day = world.first_day + timedelta(days=d)
            run_start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
            run_id = repository.start_run(slow, ids.project_id, planned, run_start,
                                          repository.RunOwner("bench", os.getpid()))
            assert run_id == world.run_id(d)
            for ki in range(keywords):
                for ei in range(len(ENGINES)):
                    for sample in range(samples):
                        oid = repository.save_observation(connection, ids, observe(world, d, ki, ei, sample))
                        assert oid == world.observation_id(d, ki, ei, sample), (oid, d, ki, ei, sample)
            repository.finish_run(slow, run_id, run_start + timedelta(hours=2, minutes=10))
    print(f"save_observation path: {time.monotonic() - t0:.1f} s")

    ok = True
    a, b = sqlite3.connect(bulk_path), sqlite3.connect(slow_path)
    tables = [name for (name,) in a.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for name in tables:
        ignore = {"run": "pid", "project": "created_at", "interned_name": "id"}.get(name)
        columns = [c[1] for c in a.execute(f"PRAGMA table_info({name})") if c[1] != ignore]
        # names by name: both paths intern them in their own order
        named = {"origin"} if name == "citation" else NAMED_KEYS if name.startswith("kpi_") else set()
        shown = [f"(SELECT name FROM interned_name WHERE id = {c})" if c in named else c for c in columns]
        query = f"SELECT {', '.join(shown)} FROM {name} ORDER BY {', '.join(str(i + 1) for i in range(len(columns)))}"
        rows_a, rows_b = a.execute(query).fetchall(), b.execute(query).fetchall()
        same, gap = _same(rows_a, rows_b)
        ok &= same
        print(f"  {name:22s} bulk {len(rows_a):7d} rows, save_observation {len(rows_b):7d}: "
              f"{('same' if rows_a == rows_b else f'same but floats within {gap:.1e}') if same else 'DIFFERENT'}")
        if not same:
            diff = [(x, y) for x, y in zip(rows_a, rows_b) if x != y][:2]
            print("    first differences:", repr(diff)[:1500])

    # a rebuild must change nothing
    with bulk.connect() as connection:
        transaction = connection.begin()
        before = {m.__tablename__: sorted(tuple(r) for r in connection.execute(select(m.__table__))) for m in ROLLUPS}
        counted = rebuild(connection)
        after = {m.__tablename__: sorted(tuple(r) for r in connection.execute(select(m.__table__))) for m in ROLLUPS}
        transaction.rollback()
    for name in before:
        same, gap = _same(before[name], after[name])
        ok &= same
        print(f"  rebuild {name:16s} {len(before[name]):6d} rows: "
              f"{('identical' if before[name] == after[name] else f'identical but floats within {gap:.1e}') if same else 'DIFFERENT'}")
    print(f"  rebuild counted {counted} observations")

    for since, until in ((end - timedelta(days=6), end), (world.first_day, end)):
        m_bulk = period_metrics(bulk, "bench", since, until)
        m_slow = period_metrics(slow, "bench", since, until)
        same = json.dumps(m_bulk, sort_keys=True, default=str) == json.dumps(m_slow, sort_keys=True, default=str)
        ok &= same
        overall = m_bulk["overall"]
        print(f"  period_metrics {since}..{until}: {'same' if same else 'DIFFERENT'}; overall keys "
              f"{sorted(overall)[:8]}...")
    print("CHECK", "PASSED" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="sqlite:////work/benchdata/year.db")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 12, 5))
    parser.add_argument("--keywords", type=int, default=500)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-days", type=int, default=1)
    parser.add_argument("--project", default="bench")
    parser.add_argument("--copy-from", help="copy this SQLite history (sqlite:///...) into --url (PostgreSQL)")
    parser.add_argument("--tables", help="with --copy-from: only these tables (comma-separated), e.g. the ones "
                        "`metrics` reads: project,tracked_entity,keyword,kpi_day,kpi_day_rank,kpi_day_entity,"
                        "kpi_day_content,kpi_day_domain")
    parser.add_argument("--check", action="store_true", help="the small-scale correctness check instead")
    parser.add_argument("--check-folder", type=Path, default=Path("/work/benchdata/check"))
    args = parser.parse_args(argv)
    if args.check:
        return 0 if check(args.check_folder) else 1
    if args.copy_from:
        copy_sqlite_to_postgresql(args.copy_from, args.url,
                                  tuple(args.tables.split(",")) if args.tables else COPY_ORDER)
        return 0
    if args.url.startswith("sqlite:///"):
        Path(args.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    load(args.url, args.days, args.end, args.keywords, args.samples, args.seed, args.workers, args.batch_days,
         args.project)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
