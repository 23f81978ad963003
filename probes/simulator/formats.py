"""The wire formats the simulator speaks, by engine kind.

Each module defines KIND, BASE_SUFFIX (appended to /KIND to form the probe's
base_url), handles(path), prompt_of(path, body), model_of(path, body) and
render(answer) -> the JSON body the real service would send.
"""

from types import ModuleType

from probes.simulator import (
    anthropic,
    gemini,
    openai_chat,
    openai_compatible,
    openai_responses,
    perplexity,
    perplexity_agent,
)

FORMATS: dict[str, ModuleType] = {
    module.KIND: module for module in (openai_responses, gemini, anthropic, perplexity, perplexity_agent, openai_chat,
                                     openai_compatible)
}
