"""Text helpers every package shares."""

from __future__ import annotations


def short(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters, for the reasons stored on observations and shown to users."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
