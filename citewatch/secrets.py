"""Masking the configured secrets (API keys) wherever something a server sent is kept or shown.

A server may repeat the key it was sent: in an error text, in a 200 error envelope, in an answer. The
pipeline masks every configured secret in the raw payload before it is hashed, parsed and stored, and in
every text of the observation after, so that no key reaches the database, a log or a report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter "keys" (placeholders like "x") would mask ordinary text


class Secrets:
    """A set of secret values; those too short to be keys are ignored."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        kept = {value for value in values if value and len(value) >= MIN_SECRET_LENGTH}
        # longest first: a key that contains another is masked whole
        self._texts = sorted(kept, key=len, reverse=True)
        # the keys as bytes, and as JSON strings write them whole (quotes, backslashes, controls, non-ASCII
        # and "/" escaped): found by a plain search, which costs next to nothing
        forms = {form for value in self._texts for form in _json_forms(value)}
        self._bytes = sorted(forms, key=len, reverse=True)
        # any mix of those escapes, character by character (\u0073k-...): a regex, run only on payloads
        # that hold a \u escape
        self._escaped = re.compile(b"|".join(_escaped_pattern(value) for value in self._texts)) if kept else None

    def __bool__(self) -> bool:
        return bool(self._texts)

    def mask(self, text: str) -> str:
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def mask_bytes(self, raw: bytes) -> bytes:
        for secret in self._bytes:
            if secret in raw:
                raw = raw.replace(secret, MASK.encode())
        if self._escaped is not None and b"\\u" in raw:
            raw = self._escaped.sub(MASK.encode(), raw)
        return raw


def _json_forms(secret: str) -> set[bytes]:
    forms = {secret.encode()}
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        forms |= {escaped.encode(), escaped.replace("/", "\\/").encode()}
    return forms


def _escaped_pattern(secret: str) -> bytes:
    """A pattern matching `secret` in a JSON string, each character as itself or as any escape of it."""
    return b"".join(b"(?:" + b"|".join(_char_forms(char)) + b")" for char in secret)


def _char_forms(char: str) -> list[bytes]:
    forms = [re.escape(char.encode())]
    code = ord(char)
    # beyond the BMP, JSON escapes a character as a surrogate pair
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    forms.append(b"".join(b"\\\\u" + _hex(unit) for unit in units))
    short = json.dumps(char)[1:-1]
    if short.startswith("\\") and not short.startswith("\\u"):  # \" \\ \n \t ...
        forms.append(re.escape(short.encode()))
    if char == "/":
        forms.append(re.escape(b"\\/"))
    return forms


def _hex(unit: int) -> bytes:
    """Four hex digits, either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{unit:04x}").encode()


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret of a plausible length masked."""
    return Secrets(secrets).mask(text)
