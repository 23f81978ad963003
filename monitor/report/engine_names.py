"""The names users know the engines by, in each report language: "通义千问 (qwen)", not only the config id.

By kind, and where a kind reaches several services (`openai_compatible`, `anthropic` at DeepSeek's
endpoint), by the host of the engine's base_url. Pure: no I/O.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# kind -> (English, Chinese)
_BY_KIND: dict[str, tuple[str, str]] = {
    "openai": ("ChatGPT", "ChatGPT"),
    "openai_chat": ("ChatGPT", "ChatGPT"),
    "perplexity": ("Perplexity", "Perplexity"),
    "perplexity_agent": ("Perplexity", "Perplexity"),
    "gemini": ("Gemini", "Gemini"),
    "anthropic": ("Claude", "Claude"),
    "serpapi": ("Google AI Overviews", "Google AI 概览"),
    "dataforseo": ("Google AI Overviews", "Google AI 概览"),
    "google_browser": ("Google AI Overviews", "Google AI 概览"),
    "serpapi_ai_mode": ("Google AI Mode", "Google AI 模式"),
    "dataforseo_ai_mode": ("Google AI Mode", "Google AI 模式"),
    "qwen": ("Qwen", "通义千问"),
    "doubao": ("Doubao", "豆包"),
    "glm": ("GLM", "智谱清言"),
    "ernie": ("ERNIE", "文心一言"),
    "kimi": ("Kimi", "Kimi"),
}
# base_url host (or a domain it ends in) -> (English, Chinese): the service behind a compatible endpoint
_BY_HOST: tuple[tuple[str, tuple[str, str]], ...] = (
    ("deepseek.com", ("DeepSeek", "DeepSeek")),
    ("moonshot.cn", ("Kimi", "Kimi")),
    ("moonshot.ai", ("Kimi", "Kimi")),
    ("dashscope.aliyuncs.com", ("Qwen", "通义千问")),
    ("dashscope-intl.aliyuncs.com", ("Qwen", "通义千问")),
    ("volces.com", ("Doubao", "豆包")),
    ("bigmodel.cn", ("GLM", "智谱清言")),
    ("baidubce.com", ("ERNIE", "文心一言")),
    ("x.ai", ("Grok", "Grok")),
    ("mistral.ai", ("Mistral", "Mistral")),
)
LANGUAGE_INDEX = {"en": 0, "zh": 1}


def product_name(kind: str, base_url: str | None, language: str) -> str | None:
    """The service's name as users know it in `language` (en or zh); None when neither kind nor host says."""
    host = (urlsplit(base_url).hostname or "") if base_url else ""
    index = LANGUAGE_INDEX[language]
    for domain, names in _BY_HOST:
        if host == domain or host.endswith("." + domain):
            return names[index]
    names = _BY_KIND.get(kind)
    return names[index] if names else None


def engine_label(engine_id: str, kind: str, base_url: str | None, language: str) -> str:
    """The product name, with the config id after it where the id is not that name: "通义千问 (qwen)",
    "ChatGPT" for an engine called chatgpt, the id alone for a service we cannot name."""
    product = product_name(kind, base_url, language)
    if product is None:
        return engine_id
    same = "".join(product.casefold().split()) == "".join(engine_id.casefold().split())
    return product if same else f"{product} ({engine_id})"


def engine_labels(engines: dict[str, tuple[str, str | None]]) -> dict[str, dict[str, str]]:
    """{engine id: {language: label}} for engines given as {id: (kind, base_url)}."""
    return {engine_id: {language: engine_label(engine_id, kind, base_url, language) for language in LANGUAGE_INDEX}
            for engine_id, (kind, base_url) in engines.items()}
