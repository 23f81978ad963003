"""Masking the configured secrets (API keys) wherever something a server sent is kept or shown.

A server may repeat the key it was sent: in an error text, in a 200 error envelope, in an answer. The
pipeline masks every configured secret in the raw payload before it is hashed, parsed and stored, and in
every text of the observation after, so that no key reaches the database, a log or a report.
"""

from __future__ import annotations

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
        self._bytes = [value.encode() for value in self._texts]
        # the same keys as a JSON string may write them, any character escaped (\u0073, \/)
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
        if self._escaped is not None and (b"\\u" in raw or b"\\/" in raw):  # no escapes, no escaped key
            raw = self._escaped.sub(MASK.encode(), raw)
        return raw


def _escaped_pattern(secret: str) -> bytes:
    """A pattern matching `secret` in a JSON string, each character as itself or as an escape."""
    parts = []
    for char in secret:
        forms = [re.escape(char.encode())]
        if ord(char) < 0x10000:
            hex_digits = f"{ord(char):04x}"
            forms.append(b"\\\\u" + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d
                                             for d in hex_digits).encode())
        if char in '"\\/':
            forms.append(re.escape(b"\\" + char.encode()))
        parts.append(b"(?:" + b"|".join(forms) + b")")
    return b"".join(parts)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret of a plausible length masked."""
    return Secrets(secrets).mask(text)
