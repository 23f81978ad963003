"""Opaque tokens in engines' JSON, replaced by a short stand-in before a payload is hashed and stored.

Anthropic's search results carry `encrypted_content` and `encrypted_index`, OpenAI's reasoning items
`encrypted_content`, Gemini's parts `thoughtSignature`, Anthropic's thinking blocks `signature`: encrypted or
signed blobs, meaningful only to the engine when the conversation continues, read by no parser, and
incompressible. They were 60-80% of the stored bytes of those kinds (bench/payload_compression.py). What
stays is the JSON's shape and every readable field; each blob becomes `"citewatch-elided:<sha256 prefix>:<
length>"`, so two payloads that differed only there still hash differently.
"""

from __future__ import annotations

import hashlib
import re

# a JSON string value of one of these keys, long enough to be a token rather than a word (base64 and
# base64url alphabets; no escapes, so the match never crosses the string's end)
_OPAQUE = re.compile(
    rb'"(encrypted_content|encrypted_index|thoughtSignature|thought_signature|signature)"(\s*:\s*)"'
    rb'([A-Za-z0-9+/=_\-]{64,})"')
PREFIX = b"citewatch-elided:"


def _stand_in(match: re.Match[bytes]) -> bytes:
    token = match[3]
    digest = hashlib.sha256(token).hexdigest()[:16].encode()
    return b'"%s"%s"%s%s:%d"' % (match[1], match[2], PREFIX, digest, len(token))


def elide_opaque(raw: bytes) -> bytes:
    """`raw` with every opaque token replaced (unchanged where it holds none)."""
    if b'"encrypted_' not in raw and b'ignature"' not in raw:
        return raw
    return _OPAQUE.sub(_stand_in, raw)
