"""The simulator's wire formats of the Chinese engines (qwen, glm, ernie, doubao, kimi): each kind's real probe
fetches a Chinese prompt from the running simulator, its parser reads the sources of the scenario's answer back; and
the same answers rendered for Qwen and for OpenAI give the same KPIs through the real pipeline."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import fixed_clock
from monitor.config import EngineConfig, load_config
from monitor.metrics import period_metrics
from monitor.pipeline import make_probe, run_batch
from probes import registry
from probes.base import WEB_SEARCH, ProbeRequest
from probes.fake import FakeProbe
from probes.simulator import Simulator, demo_scenario
from probes.simulator import doubao as doubao_wire
from probes.simulator import ernie as ernie_wire
from probes.simulator import glm as glm_wire
from probes.simulator import kimi as kimi_wire
from probes.simulator import qwen as qwen_wire
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import SimulatedAnswer, simulated_answer
from storage.db import open_database

PROMPTS = ("有哪些值得信赖的工业球阀制造商？", "球阀 制造商")
# (kind, model or None for the probe's default, the path the probe posts to under its base_url)
ENGINES = [
    ("qwen", None, "/api/v1/services/aigc/text-generation/generation"),
    ("qwen", "qwen3.5-plus", "/api/v1/services/aigc/multimodal-generation/generation"),
    ("glm", None, "/chat/completions"),
    ("ernie", None, "/ai_search/chat/completions"),
]


def expected_sources(simulated: SimulatedAnswer) -> tuple[list[str], list[str], dict[str, str]]:
    """(cited URLs in order of first citation, the two neutral pages retrieved and never cited, titles)."""
    cited: list[str] = []
    titles: dict[str, str] = {}
    for segment in simulated.segments:
        for url, title in segment.sources:
            titles.setdefault(url, title)
            if url not in cited:
                cited.append(url)
    extra = [(url, title) for url, title in simulated.scenario.neutral_pages if url not in cited][:2]
    titles.update(extra)
    return cited, [url for url, _ in extra], titles


# --- the module contract ------------------------------------------------------------------------------


def test_the_five_formats_are_registered_and_mounted_where_their_probes_post() -> None:
    assert [FORMATS[kind] for kind in ("qwen", "glm", "ernie", "doubao", "kimi")] == [
        qwen_wire, glm_wire, ernie_wire, doubao_wire, kimi_wire]
    assert {kind: registry.KINDS[kind].simulator for kind in ("qwen", "glm", "ernie", "doubao", "kimi")} == {
        kind: f"probes.simulator.{kind}" for kind in ("qwen", "glm", "ernie", "doubao", "kimi")}
    with Simulator() as sim:
        root = f"http://127.0.0.1:{sim.port}"
        # like https://dashscope.aliyuncs.com, https://open.bigmodel.cn/api/paas/v4, https://qianfan.baidubce.com/v2
        assert [sim.base_url_for(kind) for kind in ("qwen", "glm", "ernie")] == [
            f"{root}/qwen", f"{root}/glm/api/paas/v4", f"{root}/ernie/v2"]
    assert qwen_wire.handles(qwen_wire.TEXT_PATH) and qwen_wire.handles(qwen_wire.MULTIMODAL_PATH)
    assert not qwen_wire.handles("/chat/completions") and not qwen_wire.handles("/compatible-mode/v1/responses")
    assert glm_wire.handles("/api/paas/v4/chat/completions") and not glm_wire.handles("/responses")
    assert ernie_wire.handles("/v2/ai_search/chat/completions") and not ernie_wire.handles("/v2/chat/completions")


def test_prompts_and_models_are_read_from_each_request_shape() -> None:
    text = {"model": "qwen-max", "input": {"messages": [{"role": "system", "content": "简洁回答"},
                                                         {"role": "user", "content": "球阀 制造商"}]}}
    parts = {"model": "qwen3.5-plus", "input": {"messages": [{"role": "user", "content": [{"text": "球阀 制造商"}]}]}}
    assert qwen_wire.prompt_of(qwen_wire.TEXT_PATH, text) == "球阀 制造商"
    assert qwen_wire.prompt_of(qwen_wire.MULTIMODAL_PATH, parts) == "球阀 制造商"
    assert qwen_wire.prompt_of(qwen_wire.TEXT_PATH, {"input": {"prompt": "球阀"}}) == "球阀"
    assert qwen_wire.prompt_of(qwen_wire.TEXT_PATH, {"input": "odd"}) == qwen_wire.prompt_of("", {}) == ""
    assert (qwen_wire.model_of("", text), qwen_wire.model_of("", {})) == ("qwen-max", "qwen-plus")
    chat = {"model": "glm-4.5-air", "messages": [{"role": "user", "content": "球阀 制造商"}]}
    assert glm_wire.prompt_of("/chat/completions", chat) == ernie_wire.prompt_of("/ai_search/chat/completions",
                                                                                  chat) == "球阀 制造商"
    assert (glm_wire.model_of("", chat), glm_wire.model_of("", {})) == ("glm-4.5-air", "glm-4.6")
    assert ernie_wire.model_of("", {}) == "ernie-4.5-turbo-32k"


# --- each kind's real probe and parser against the running simulator -------------------------------------------


@pytest.mark.parametrize(("kind", "model", "path"), ENGINES, ids=[f"{k}-{m or 'default'}" for k, m, _ in ENGINES])
async def test_the_probe_fetches_a_chinese_answer_whose_sources_are_the_scenarios(kind: str, model: str | None,
                                                                                  path: str) -> None:
    wire = FORMATS[kind]
    parse = registry.kind(kind).parse
    bodies = []
    with Simulator() as sim:
        probe = make_probe(EngineConfig(id=f"{kind}-sim", kind=kind, model=model, base_url=sim.base_url_for(kind)))
        try:
            for prompt in PROMPTS:
                for call in range(3):  # the k-th call with a prompt gets the k-th answer
                    raw = await probe.fetch(ProbeRequest("球阀 制造商", prompt))
                    request = sim.requests[-1]
                    assert request["path"] == f"/{kind}{wire.BASE_SUFFIX}{path}"
                    assert wire.prompt_of(request["path"], request["body"]) == prompt
                    simulated = simulated_answer(sim.scenario, prompt,
                                                 wire.model_of(request["path"], request["body"]), call, kind)
                    body = json.loads(raw.first.data)
                    bodies.append(body)
                    assert registry.recognizing(body) == [kind]
                    check_answer(parse(raw), simulated)
        finally:
            await probe.aclose()
    assert len({json.dumps(body, sort_keys=True) for body in bodies}) == len(bodies)  # every call answered anew


def check_answer(answer: Any, simulated: SimulatedAnswer) -> None:
    cited, extra, titles = expected_sources(simulated)
    assert answer.status == "ok" and answer.features == [WEB_SEARCH]
    assert all(segment.sentence in answer.text for segment in simulated.segments)
    assert [(c.url, c.cited) for c in answer.citations] == [(url, True) for url in cited] + [
        (url, False) for url in extra]
    assert [c.position for c in answer.citations] == list(range(1, len(cited) + len(extra) + 1))
    assert [c.title for c in answer.citations] == [titles[c.url] for c in answer.citations]
    for citation in answer.citations:
        citing = [s.sentence for s in simulated.segments if citation.url in (url for url, _ in s.sources)]
        # each marker's span is the sentence it follows; an unmarked page has none
        assert [answer.text[start:end] for start, end in citation.spans] == citing


async def test_qwen_answers_in_parts_on_the_multimodal_endpoint_and_reports_its_search() -> None:
    with Simulator() as sim, Simulator() as other:  # each serves its first call with the prompt
        text_probe = make_probe(EngineConfig(id="q", kind="qwen", base_url=sim.base_url_for("qwen"),
                                             search={"strategy": "max"}))
        parts_probe = make_probe(EngineConfig(id="vl", kind="qwen", model="qwen-vl-max",
                                              base_url=other.base_url_for("qwen")))
        try:
            plain = json.loads((await text_probe.fetch(ProbeRequest("k", PROMPTS[0]))).first.data)
            parted = json.loads((await parts_probe.fetch(ProbeRequest("k", PROMPTS[0]))).first.data)
        finally:
            await text_probe.aclose()
            await parts_probe.aclose()
    text = plain["output"]["choices"][0]["message"]["content"]
    parts = parted["output"]["choices"][0]["message"]["content"]
    # both are the first call with this prompt on this day: the same answer, a string or its parts
    assert isinstance(text, str) and [set(part) for part in parts] == [{"text"}, {"text"}]
    assert "".join(part["text"] for part in parts) == text
    assert plain["usage"]["plugins"]["search"] == {"count": 1, "strategy": "max"}  # as the request asked
    assert parted["usage"]["plugins"]["search"] == {"count": 1, "strategy": "turbo"}
    assert "model" not in plain and "[ref_1]" in text
    results = plain["output"]["search_info"]["search_results"]
    assert [r["index"] for r in results] == list(range(1, len(results) + 1))


def test_glm_and_ernie_name_their_results_by_refer_and_id() -> None:
    simulated = simulated_answer(demo_scenario(), PROMPTS[0], "glm-4.6", 0, "glm")
    glm = glm_wire.render(simulated)
    assert [r["refer"] for r in glm["web_search"]] == [f"ref_{n}" for n in range(1, len(glm["web_search"]) + 1)]
    assert "[ref_1]" in glm["choices"][0]["message"]["content"] and glm["model"] == "glm-4.6"
    ernie = ernie_wire.render(simulated)
    assert [(r["id"], r["type"]) for r in ernie["references"]] == [
        (n, "web") for n in range(1, len(ernie["references"]) + 1)]
    assert "^[1]^" in ernie["choices"][0]["message"]["content"] and ernie["is_safe"] is True


def cited_in_order(simulated: SimulatedAnswer) -> list[str]:
    return list(dict.fromkeys(url for segment in simulated.segments for url, _ in segment.sources))


async def test_doubao_lists_the_pages_it_used_and_the_queries_it_searched() -> None:
    parse = registry.kind("doubao").parse
    with Simulator() as sim:
        probe = make_probe(EngineConfig(id="doubao", kind="doubao", base_url=sim.base_url_for("doubao")))
        try:
            for call in range(3):
                raw = await probe.fetch(ProbeRequest("球阀 制造商", PROMPTS[0]))
                request = sim.requests[-1]
                assert request["path"] == "/doubao/api/v3/responses"
                assert registry.recognizing(json.loads(raw.first.data)) == ["doubao"]
                simulated = simulated_answer(sim.scenario, PROMPTS[0], doubao_wire.DEFAULT_MODEL, call, "doubao")
                answer = parse(raw)
                assert answer.status == "ok" and answer.model == doubao_wire.DEFAULT_MODEL
                assert all(segment.sentence in answer.text for segment in simulated.segments)
                assert "[" not in answer.text  # Ark writes no markers
                # every page is one the answer used, in order of first use; Ark ties none to words
                assert [(c.url, c.cited, c.spans) for c in answer.citations] == [
                    (url, True, []) for url in cited_in_order(simulated)]
                assert answer.search_queries[0] == PROMPTS[0]
        finally:
            await probe.aclose()


async def test_kimi_answers_in_two_legs_and_the_second_is_not_a_new_call() -> None:
    parse = registry.kind("kimi").parse
    with Simulator() as sim:
        probe = make_probe(EngineConfig(id="kimi", kind="kimi", base_url=sim.base_url_for("kimi")))
        try:
            for call in range(3):
                raw = await probe.fetch(ProbeRequest("球阀 制造商", PROMPTS[0]))
                first, second = (request["body"] for request in sim.requests[-2:])
                assert [part.name for part in raw.parts] == ["response", "response-2"]
                # the search arguments go back unchanged, after the assistant message that asked for them
                asked = json.loads(raw.parts[0].data)["choices"][0]["message"]
                assert second["messages"][1:] == [asked, {
                    "role": "tool", "tool_call_id": asked["tool_calls"][0]["id"], "name": "$web_search",
                    "content": asked["tool_calls"][0]["function"]["arguments"]}]
                assert "tool" not in {m["role"] for m in first["messages"]}
                assert kimi_wire.earlier_call("", second) == (PROMPTS[0], call)
                simulated = simulated_answer(sim.scenario, PROMPTS[0], kimi_wire.DEFAULT_MODEL, call, "kimi")
                answer = parse(raw)
                assert answer.status == "ok" and answer.features == [WEB_SEARCH]
                assert all(segment.sentence in answer.text for segment in simulated.segments)
                # no source list: the pages are the URLs written in the prose, in order
                assert [c.url for c in answer.citations] == cited_in_order(simulated)
        finally:
            await probe.aclose()
    assert len(sim.requests) == 6


# --- the same answers from Qwen and from OpenAI: the same KPIs ----------------------------------------------

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
SAMPLES = 6
CONFIG = """\
brand: {{name: Hengda Valve, aliases: [Hengda, 恒达阀门, 恒达], domains: [hengdavalve.com]}}
competitors:
  - {{name: Apex Flow Controls, aliases: [Apex Flow], domains: [apexflow.com]}}
  - {{name: NorthStar Valves, aliases: [NorthStar], domains: [northstarvalves.de]}}
keywords:
  - text: industrial ball valve manufacturer
  - text: api 6d ball valve supplier china
  - text: 球阀 制造商
    prompt: 有哪些值得信赖的工业球阀制造商？
    locale: {{country: cn, language: zh}}
  - text: 低温阀门 品牌
    locale: {{country: cn, language: zh}}
engines:
  - {{id: chatgpt, kind: openai, model: gpt-5-mini, samples: {samples}, concurrency: 1, retries: 0}}
  - {{id: qwen, kind: qwen, model: qwen-plus, samples: {samples}, concurrency: 1, retries: 0}}
storage: {{url: "{storage}"}}
"""
# the KPI whose floats PostgreSQL may add in another order (compared in `test_pawc_is_the_same_...`)
SUMMED_FLOATS = "visibility_pawc"


async def same_answers_metrics(tmp_path: Path, db_url: str) -> dict[str, Any]:
    """A batch whose two engines get the same simulated answers (the k-th sample of a prompt gets the k-th
    answer), one rendered in the OpenAI Responses format, one in DashScope's, stored and measured."""
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(samples=SAMPLES, storage=db_url), encoding="utf-8")
    config = load_config(path)
    scenario = demo_scenario()

    def probes(engine: EngineConfig) -> FakeProbe:
        wire, calls = FORMATS[engine.kind], Counter[str]()

        def answer(request: ProbeRequest) -> bytes:
            call = calls[request.prompt]
            calls[request.prompt] += 1
            simulated = simulated_answer(scenario, request.prompt, str(engine.model), call)  # no kind: the same
            return json.dumps(wire.render(simulated), ensure_ascii=False).encode("utf-8")

        return FakeProbe(answer)

    db = open_database(db_url)
    try:
        summary = await run_batch(config, db, fixed_clock(T0), probes=probes)
        assert summary.statuses == {"ok": 2 * 4 * SAMPLES}
        return period_metrics(db, config.project_name, DAY, DAY)
    finally:
        db.dispose()


async def test_the_metrics_of_a_qwen_engine_on_the_same_answers_equal_those_of_an_openai_engine(
        tmp_path: Path, db_url: str) -> None:
    metrics = await same_answers_metrics(tmp_path, db_url)
    openai, qwen = metrics["engines"]["chatgpt"], metrics["engines"]["qwen"]
    # not vacuous: the brand and its competitors are cited and named, some pages only retrieved
    assert openai["successful"] == 4 * SAMPLES and 0 < openai["inclusion_rate"]["value"] < 1
    assert openai["citation_position"]["n"] > 0 and openai["mention_rate"]["Hengda Valve"]["value"] > 0
    assert openai["search_pool"]["n"] > 0
    # mentions in every third, so that where the prose is measured matters (OpenAI's inline links make its
    # raw text far longer than Qwen's "[ref_1]" markers: offsets into it put mentions in other thirds)
    hengda = openai["mention_position"]["Hengda Valve"]
    assert hengda["first_third"]["value"] > 0 and hengda["middle_third"]["value"] + hengda["last_third"]["value"] > 0
    # every KPI; cost is compared too (0: no price is configured; with one it would differ, as the two
    # services count tokens differently)
    assert set(openai) == set(qwen) and SUMMED_FLOATS in openai
    assert {k: v for k, v in qwen.items() if k != SUMMED_FLOATS} == {
        k: v for k, v in openai.items() if k != SUMMED_FLOATS}
    for keyword, row in metrics["keywords"].items():
        assert row["by_engine"]["qwen"] == row["by_engine"]["chatgpt"], keyword


async def test_pawc_is_the_same_whatever_markup_carries_the_citations(tmp_path: Path, db_url: str) -> None:
    # numbered markers ("[ref_1]") are blanked before sentences are split, as inline links are
    metrics = await same_answers_metrics(tmp_path, db_url)
    openai, qwen = metrics["engines"]["chatgpt"], metrics["engines"]["qwen"]
    shares = {name: share["value"] for name, share in openai["visibility_pawc"].items()}
    assert {name: share["n"] for name, share in qwen["visibility_pawc"].items()} == {
        name: share["n"] for name, share in openai["visibility_pawc"].items()}
    # equal but for the order PostgreSQL adds the floats in
    assert {name: share["value"] for name, share in qwen["visibility_pawc"].items()} == pytest.approx(shares, rel=1e-12)

