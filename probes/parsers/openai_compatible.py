"""Parser of kind `openai_compatible`: any OpenAI-compatible Chat Completions body (DeepSeek, Qwen, Kimi,
Ollama, vLLM, OpenRouter ...). The reading is `probes.parsers.openai_chat`'s, in its compatible dialect:
annotations where a gateway sends them, plus every URL the model writes in its text."""

from __future__ import annotations

from probes.parsers.openai_chat import (
    PARSER_VERSION,
    parse_compatible,
    recognizes_compatible,
)

parse = parse_compatible
recognizes = recognizes_compatible

__all__ = ["PARSER_VERSION", "parse", "recognizes"]
