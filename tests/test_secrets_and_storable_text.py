"""The kernel's pure helpers for what is kept: secrets masked, text made storable."""

from __future__ import annotations

import json

import pytest

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


@pytest.mark.parametrize("key", ['sk-abc"quote1234', "sk-abc\\back1234", "sk-tab\there1234", "sk-🔑-astral-1234",
                                 "sk-恒达-0123456789", "sk.*+?[](){}|^$-regex"])
def test_keys_of_any_characters_are_masked_however_json_writes_them(key: str) -> None:
    secrets = Secrets([key])
    mixed = "".join(json.dumps(char)[1:-1] if index % 2 else f"\\u{ord(char):04X}" if ord(char) < 0x10000
                    else json.dumps(char)[1:-1].upper().replace("\\U", "\\u")
                    for index, char in enumerate(key))
    for written in (json.dumps(key), json.dumps(key, ensure_ascii=False), f'"{mixed}"'):
        body = b'{"m": ' + written.encode() + b', "n": "caf\\u00e9"}'
        assert json.loads(body)["m"] == key  # each form is the key, once decoded
        assert secrets.mask_bytes(body) == b'{"m": "***", "n": "caf\\u00e9"}', written


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
