"""The kernel's pure helpers for what is kept: secrets masked, text made storable."""

from __future__ import annotations

import json

from citewatch.secrets import Secrets, redact
from citewatch.text import storable

KEY = "sk-live/0123456789abcdef"


def test_every_form_a_json_body_holds_a_key_in_is_masked() -> None:
    secrets = Secrets([KEY])
    escaped = "".join(f"\\u{ord(char):04X}" if index % 2 else char for index, char in enumerate(KEY))
    for written in (KEY, "sk-live\\/0123456789abcdef", escaped, escaped.lower(), json.dumps(KEY)[1:-1]):
        body = b'{"m": "' + written.encode() + b'", "n": "caf\\u00e9 \\/ sk-live"}'
        assert secrets.mask_bytes(body) == b'{"m": "***", "n": "caf\\u00e9 \\/ sk-live"}'
        assert json.loads(body)["m"] == KEY  # each form is the key, once decoded


def test_a_key_that_holds_another_is_masked_whole_and_short_values_are_not_keys() -> None:
    secrets = Secrets(["0123456789", "sk-0123456789-long", "x", None, ""])
    assert secrets.mask("a sk-0123456789-long b 0123456789 x") == "a *** b *** x"
    assert not Secrets(["short", None])
    assert redact("key sk-0123456789-long", ["sk-0123456789-long"]) == "key ***"


def test_storable_text_keeps_offsets_and_leaves_ordinary_text_alone() -> None:
    hostile = "ab\x00c\ud83dd恒达"
    assert storable(hostile) == "ab\ufffdc\ufffdd恒达"
    assert len(storable(hostile)) == len(hostile)  # citation spans still point at the same characters
    assert storable("plain 恒达 \U0001F600") == "plain 恒达 \U0001F600"
    storable(hostile).encode("utf-8")  # encodable now
