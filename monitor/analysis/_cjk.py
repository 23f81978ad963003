"""Character classes for CJK scripts, shared by mentions and sentences.

Kept as regex class bodies (no brackets) so callers can combine them, e.g.
``[^\\W{CJK}]`` = "a word character that is not CJK".
"""

from __future__ import annotations

import re

# Han (radicals, ideographs incl. extensions and compatibility forms, 々〆〇),
# Hiragana, Katakana (incl. phonetic extensions and half-width forms) and
# Hangul (jamo, compatibility jamo, syllables).
CJK = (
    "\u2e80-\u2fdf"
    "\u3005-\u3007"
    "\u3021-\u3029"
    "\u3038-\u303b"
    "\u3040-\u309f"
    "\u30a0-\u30ff"
    "\u3130-\u318f"
    "\u31f0-\u31ff"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uac00-\ud7af"
    "\u1100-\u11ff"
    "\uf900-\ufaff"
    "\uff66-\uff9f"
    "\U00020000-\U0003134f"
)

_HAS_CJK = re.compile(f"[{CJK}]")


def has_cjk(s: str) -> bool:
    """True when ``s`` holds at least one CJK character."""
    return _HAS_CJK.search(s) is not None
