"""One message per run announcing its alert events, in English or Chinese, as Markdown. Pure.

Scraped values (URLs, domains) are untrusted: they are written as code spans or escaped text, so an
answer cannot inject links or formatting into a team's chat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from citewatch.alerts import (
    CITATION_GAINED,
    CITATION_LOST,
    COMPETITOR_GAINED,
    ENGINE_FAILING,
    INCLUSION_DROP,
    SHARE_OF_VOICE_DROP,
    EventKey,
)
from monitor.markdown_text import md_cell, show_invisible

RECOVERED = "recovered"  # a section of its own: engines whose failing state ended
ORDER = (ENGINE_FAILING, RECOVERED, CITATION_LOST, COMPETITOR_GAINED, INCLUSION_DROP, SHARE_OF_VOICE_DROP,
         CITATION_GAINED)
# how the z-test of monitor.kpis.CHANGE_TEST reads in Chinese
_TEST_ZH = {"two-proportion z-test (pooled), 95%: |z| > 1.96": "双比例 z 检验（合并方差），95%：|z| > 1.96"}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        ENGINE_FAILING: "Engines failing",
        RECOVERED: "Engines recovered",
        CITATION_LOST: "Citations lost",
        COMPETITOR_GAINED: "Competitors newly cited where {brand} is not",
        INCLUSION_DROP: "Inclusion rate dropped",
        SHARE_OF_VOICE_DROP: "Share of voice dropped",
        CITATION_GAINED: "Citations gained",
        "count." + ENGINE_FAILING: "{n} engine(s) failing",
        "count." + RECOVERED: "{n} engine(s) recovered",
        "count." + CITATION_LOST: "{n} citation(s) lost",
        "count." + COMPETITOR_GAINED: "{n} competitor citation(s) gained",
        "count." + INCLUSION_DROP: "inclusion dropped ({n})",
        "count." + SHARE_OF_VOICE_DROP: "share of voice dropped ({n})",
        "count." + CITATION_GAINED: "{n} citation(s) gained",
        "title": "citewatch · {project}: {summary} (run {run})",
        "on": "{keyword} on {engine}",
        "lost": "{where}: {url}, last seen {date}, absent from the {runs} successful runs since; cited instead: "
                "{instead}",
        "gained": "{where}: {url}",
        "competitor": "{where}: {competitor} cited ({urls}); cited besides: {instead}",
        "drop": "{scope}: {before} → {now} (n={n_before} → {n_now}), the last {days} days against the {days} "
                "before; beyond noise by the {test} (z = {z})",
        "failing": "{engine}: {successful} of {attempted} probes succeeded ({coverage}, below {minimum}){skipped}",
        "healthy": "{engine}: {successful} of {attempted} probes succeeded ({coverage})",
        "skipped": "; {n} skipped by budget, not counted",
        "all": "all engines",
        "nobody": "no other domain",
        "test_title": "citewatch · {project}: test message",
        "test_body": "This is a test from `citewatch alerts test`: alerts for {project} reach this channel.",
    },
    "zh": {
        ENGINE_FAILING: "引擎故障",
        RECOVERED: "引擎已恢复",
        CITATION_LOST: "失去的引用",
        COMPETITOR_GAINED: "竞品新获引用（{brand} 未被引用）",
        INCLUSION_DROP: "AI 引用率下降",
        SHARE_OF_VOICE_DROP: "声量份额下降",
        CITATION_GAINED: "新增的引用",
        "count." + ENGINE_FAILING: "引擎故障 {n} 个",
        "count." + RECOVERED: "引擎恢复 {n} 个",
        "count." + CITATION_LOST: "失去引用 {n} 条",
        "count." + COMPETITOR_GAINED: "竞品新获引用 {n} 条",
        "count." + INCLUSION_DROP: "引用率下降 {n} 项",
        "count." + SHARE_OF_VOICE_DROP: "声量份额下降 {n} 项",
        "count." + CITATION_GAINED: "新增引用 {n} 条",
        "title": "citewatch · {project}：{summary}（第 {run} 次运行）",
        "on": "「{keyword}」· {engine}",
        "lost": "{where}：{url}，最后出现于 {date}，此后 {runs} 次成功运行均未引用；改为引用：{instead}",
        "gained": "{where}：{url}",
        "competitor": "{where}：{competitor} 被引用（{urls}）；同时被引用：{instead}",
        "drop": "{scope}：{before} → {now}（n={n_before} → {n_now}），最近 {days} 天对比此前 {days} 天；"
                "{test}，超出抽样误差（z = {z}）",
        "failing": "{engine}：{attempted} 次探测中 {successful} 次成功（{coverage}，低于 {minimum}）{skipped}",
        "healthy": "{engine}：{attempted} 次探测中 {successful} 次成功（{coverage}）",
        "skipped": "；{n} 次因预算跳过，不计入",
        "all": "全部引擎",
        "nobody": "无其他域名",
        "test_title": "citewatch · {project}：测试消息",
        "test_body": "这是 `citewatch alerts test` 发送的测试消息：{project} 的提醒能送达此渠道。",
    },
}
SEPARATOR = {"en": ", ", "zh": "、"}
# entries a section lists before "and N more": chat services cap a message (Telegram at 4,096 characters)
SECTION_LIMIT = 15
MORE = {"en": "…and {n} more (`citewatch alerts` lists them all)",
        "zh": "……另有 {n} 条（`citewatch alerts` 可查看全部）"}


@dataclass(frozen=True)
class Entry:
    key: EventKey
    details: dict[str, Any]
    keyword: str | None = None  # the keyword's text, for events about one keyword
    recovered: bool = False


def render_digest(project: str, brand: str, run_id: int, entries: Iterable[Entry], lang: str) -> tuple[str, str]:
    """(title, Markdown body) of the digest announcing `entries`."""
    labels = LABELS[lang]
    sections: dict[str, list[str]] = {}
    for entry in entries:
        section = RECOVERED if entry.recovered else entry.key.kind
        sections.setdefault(section, []).append(_line(entry, labels, lang))
    present = [section for section in ORDER if section in sections]
    summary = SEPARATOR[lang].join(labels["count." + section].format(n=len(sections[section])) for section in present)
    title = labels["title"].format(project=show_invisible(project), summary=summary, run=run_id)
    body = "\n\n".join(f"**{labels[section].format(brand=md_cell(brand))}**\n" + _listed(sections[section], lang)
                       for section in present)
    return title, body


def _listed(lines: list[str], lang: str) -> str:
    shown = [f"- {line}" for line in sorted(lines)[:SECTION_LIMIT]]
    if len(lines) > SECTION_LIMIT:
        shown.append(f"- {MORE[lang].format(n=len(lines) - SECTION_LIMIT)}")
    return "\n".join(shown)


def _code(value: object) -> str:
    """A scraped URL or domain as a Markdown code span: shown as it is (hidden characters made visible), and
    nothing in it can end the span or read as markup in a chat service."""
    text = show_invisible(" ".join(str(value if value is not None else "").split()))
    for char, escaped in (("`", "%60"), ("|", "%7C"), ("<", "%3C"), (">", "%3E")):
        text = text.replace(char, escaped)
    return f"`{text}`"


def test_message(project: str, lang: str) -> tuple[str, str]:
    labels = LABELS[lang]
    return labels["test_title"].format(project=show_invisible(project)), labels["test_body"].format(
        project=md_cell(project))


def _line(entry: Entry, labels: dict[str, str], lang: str) -> str:
    details, kind = entry.details, entry.key.kind
    engine = md_cell(entry.key.engine_id) if entry.key.engine_id else labels["all"]
    where = labels["on"].format(keyword=md_cell(entry.keyword), engine=engine)
    instead = SEPARATOR[lang].join(_code(domain) for domain in details.get("instead", [])) or labels["nobody"]
    if kind == ENGINE_FAILING:
        skipped = labels["skipped"].format(n=details["skipped"]) if details["skipped"] else ""
        return labels["healthy" if entry.recovered else "failing"].format(
            engine=engine, successful=details["successful"], attempted=details["attempted"],
            coverage=_percent(details["coverage"]), minimum=_percent(details["min_coverage"]), skipped=skipped)
    if kind == CITATION_LOST:
        return labels["lost"].format(where=where, url=_code(details['url']), runs=details["absent_runs"],
                                     date=_date(details["last_seen"], lang), instead=instead)
    if kind == CITATION_GAINED:
        return labels["gained"].format(where=where, url=_code(details['url']))
    if kind == COMPETITOR_GAINED:
        urls = SEPARATOR[lang].join(_code(url) for url in details["urls"])
        return labels["competitor"].format(where=where, competitor=md_cell(details["competitor"]), urls=urls,
                                           instead=instead)
    test = _TEST_ZH.get(details["test"], details["test"]) if lang == "zh" else details["test"]
    return labels["drop"].format(scope=engine, before=_percent(details["from"]), now=_percent(details["to"]),
                                 n_before=details["n_from"], n_now=details["n_to"], days=details["window_days"],
                                 test=test, z=f"{details['z']:.2f}" if details["z"] is not None else "–")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _date(iso: str, lang: str) -> str:
    day = datetime.fromisoformat(iso).date()
    return f"{day.year}年{day.month:02d}月{day.day:02d}日" if lang == "zh" else day.isoformat()
