"""DashScope native generation wire format, Qwen with web search (POST {base_url}/api/v1/services/aigc/...).

Both endpoints `probes.qwen` posts to are served: ``text-generation/generation``, where the answer is a
string, and ``multimodal-generation/generation`` (Qwen-VL, omni, Qwen 3.5 and later), where a message's
content is a list of ``{"text": ...}`` parts, in the request and in the answer alike. The answer marks
its sources ``[ref_<n>]`` (the probe's ``citation_format``) and lists them in
``output.search_info.search_results`` (``index`` from 1), with two pages retrieved and never marked, as
`probes.parsers.qwen` reads them; the body names no model, as the real one does not.
"""

from __future__ import annotations

import hashlib
from typing import Any

from probes.simulator import openai_chat
from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, domain_of, error_page, numbered_text

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/qwen, like https://dashscope.aliyuncs.com
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias (a Chinese
# engine, searching Chinese sources, names the Chinese brand more readily)
DEMO = DemoEngine("qwen", "qwen-plus", {"input_per_million": 0.4, "output_per_million": 1.2}, brand_bias=0.15)
DEFAULT_MODEL = "qwen-plus"
TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
DEFAULT_STRATEGY = "turbo"

__all__ = ["BASE_SUFFIX", "DEMO", "failures", "handles", "model_of", "prompt_of", "render", "render_request"]


def handles(path: str) -> bool:
    return path.endswith((TEXT_PATH, MULTIMODAL_PATH))


def prompt_of(path: str, body: dict) -> str:
    """The last user message of ``input.messages`` (a string, or the multimodal endpoint's parts), or
    the old ``input.prompt``."""
    given = body.get("input")
    given = given if isinstance(given, dict) else {}
    if "messages" not in given and isinstance(given.get("prompt"), str):
        return str(given["prompt"])
    return openai_chat.prompt_of(path, given)


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def marks(numbers: list[int]) -> str:
    """Markers in the probe's citation_format: "[ref_1][ref_3]"."""
    return "".join(f"[ref_{n}]" for n in numbers)


def render(answer: SimulatedAnswer) -> dict[str, Any]:
    """A text-generation body (the default strategy)."""
    return _body(answer, multimodal=False, strategy=DEFAULT_STRATEGY)


def render_request(answer: SimulatedAnswer, path: str, body: dict) -> dict[str, Any]:
    """The body the endpoint asked sends: parts on the multimodal one; usage names the search strategy the
    request chose."""
    parameters = body.get("parameters")
    options = parameters.get("search_options") if isinstance(parameters, dict) else None
    strategy = options.get("search_strategy") if isinstance(options, dict) else None
    return _body(answer, multimodal=path.endswith(MULTIMODAL_PATH),
                 strategy=strategy if isinstance(strategy, str) and strategy else DEFAULT_STRATEGY)


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How DashScope fails (the simulator's outages), in its own envelope: an internal error, a rate limit."""
    request_id = _request_id(answer)
    return [
        error_page(500, {"request_id": request_id, "code": "InternalError.Algo",  # "occured": DashScope's spelling
                         "message": "An internal error has occured, please try again later or contact service "
                                    "support."}),
        error_page(429, {"request_id": request_id, "code": "Throttling.RateQuota",
                         "message": "Requests rate limit exceeded, please try again later."}),
    ]


def _request_id(answer: SimulatedAnswer) -> str:
    digest = hashlib.sha256(answer.ident.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _body(answer: SimulatedAnswer, multimodal: bool, strategy: str) -> dict[str, Any]:
    text, sources = numbered_text(answer, marks)
    results = [{"icon": "", "site_name": domain_of(url), "index": number, "title": title, "url": url}
               for number, (url, title) in enumerate(sources, start=1)]
    content: str | list[dict[str, str]] = text
    input_tokens, output_tokens = 1200 + len(answer.prompt) // 2, max(1, len(text) // 2)
    usage: dict[str, Any] = {"total_tokens": input_tokens + output_tokens, "output_tokens": output_tokens,
                             "input_tokens": input_tokens,
                             "plugins": {"search": {"count": 1, "strategy": strategy}}}
    if multimodal:
        # the parts of one answer, joined with nothing between them: the first paragraph, then the rest
        head, gap, rest = text.partition("\n\n")
        content = [{"text": head}] + ([{"text": gap + rest}] if gap else [])
        usage.update(input_tokens_details={"text_tokens": input_tokens},
                     output_tokens_details={"text_tokens": output_tokens})
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": 0}
    return {
        "output": {
            "choices": [{"message": {"content": content, "role": "assistant"}, "finish_reason": "stop"}],
            "search_info": {"extra_tool_info": [], "search_results": results},
        },
        "usage": usage,
        "request_id": _request_id(answer),
    }
