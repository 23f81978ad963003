"""Engines in the report are named as users know them, in English and Chinese."""

from __future__ import annotations

import pytest

from monitor.report.engine_names import engine_label, engine_labels, product_name
from probes import registry


@pytest.mark.parametrize(("kind", "base_url", "en", "zh"), [
    ("qwen", None, "Qwen", "通义千问"),
    ("doubao", "https://ark.cn-beijing.volces.com", "Doubao", "豆包"),
    ("glm", None, "GLM", "智谱清言"),
    ("ernie", None, "ERNIE", "文心一言"),
    ("kimi", None, "Kimi", "Kimi"),
    # the service behind a compatible endpoint, by its host
    ("anthropic", "https://api.deepseek.com/anthropic", "DeepSeek", "DeepSeek"),
    ("anthropic", None, "Claude", "Claude"),
    ("openai_compatible", "https://api.moonshot.cn/v1", "Kimi", "Kimi"),
    ("openai_compatible", "https://dashscope.aliyuncs.com/compatible-mode/v1", "Qwen", "通义千问"),
    ("openai_compatible", "http://127.0.0.1:8000/v1", None, None),  # a local model: no name to give
    ("serpapi", None, "Google AI Overviews", "Google AI 概览"),
    ("dataforseo_ai_mode", None, "Google AI Mode", "Google AI 模式"),
])
def test_product_names(kind: str, base_url: str | None, en: str | None, zh: str | None) -> None:
    assert (product_name(kind, base_url, "en"), product_name(kind, base_url, "zh")) == (en, zh)


def test_every_kind_but_the_generic_one_has_a_name() -> None:
    unnamed = [kind for kind in registry.KINDS if product_name(kind, None, "zh") is None]
    assert unnamed == ["openai_compatible"]


def test_the_config_id_follows_the_name_unless_it_is_the_name() -> None:
    assert engine_label("chatgpt", "openai", None, "zh") == "ChatGPT"
    assert engine_label("qwen", "qwen", None, "en") == "Qwen"
    assert engine_label("qwen", "qwen", None, "zh") == "通义千问 (qwen)"
    assert engine_label("aio", "serpapi", None, "en") == "Google AI Overviews (aio)"
    assert engine_label("google ai overviews", "serpapi", None, "en") == "Google AI Overviews"
    assert engine_label("local-llama", "openai_compatible", "http://127.0.0.1:8000/v1", "zh") == "local-llama"
    assert engine_labels({"ds": ("anthropic", "https://api.deepseek.com/anthropic")}) == {
        "ds": {"en": "DeepSeek (ds)", "zh": "DeepSeek (ds)"}}
