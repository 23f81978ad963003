"""Masking the configured secrets (API keys) wherever something a server sent is kept or shown.

A server may repeat the key it was sent: in an error text, in a 200 error envelope, in an answer. The
pipeline masks every configured secret in the raw payload before it is hashed, parsed and stored, and in
every text of the observation after, so that no key reaches the database, a log or a report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter "keys" (placeholders like "x") would mask ordinary text


class Secrets:
    """A set of secret values; those too short to be keys are ignored."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        kept = {value for value in values if value and len(value) >= MIN_SECRET_LENGTH}
        # longest first: a key that contains another is masked whole
        self._texts = sorted(kept, key=len, reverse=True)
        forms: set[bytes] = set()
        for value in self._texts:
            escaped = json.dumps(value)[1:-1]  # as a JSON string holds it ("/" may also be written "\/")
            forms.update({value.encode(), escaped.encode(), escaped.replace("/", "\\/").encode()})
        self._bytes = sorted(forms, key=len, reverse=True)

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
        return raw


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret of a plausible length masked."""
    return Secrets(secrets).mask(text)
