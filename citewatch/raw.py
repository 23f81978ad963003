"""What a probe brings back: one or more named parts, each the bytes a service sent and their media type.

Most engines answer one request with one body: a single part named `response`.
A Google probe may need several: SerpApi's first response and the overview it
deferred behind a `page_token`, a browser's page before and after "Show more"
and a screenshot, Anthropic's turns continued after `pause_turn`. Parsers take
the whole result; storage keeps each part content-addressed, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

JSON = "application/json"
HTML = "text/html"
PNG = "image/png"
# the name of the only part of a one-request result (and of every payload stored before parts existed)
RESPONSE = "response"


@dataclass(frozen=True)
class RawPart:
    name: str
    data: bytes
    media_type: str = JSON

    @property
    def is_text(self) -> bool:
        """Text a service wrote (JSON, HTML): where a secret it echoed could be, and could be masked."""
        return not self.media_type.startswith(("image/", "video/", "audio/"))


@dataclass(frozen=True)
class RawResult:
    """The parts of one probe call, in the order they were fetched. Part names are unique."""

    parts: tuple[RawPart, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a raw result holds at least one part")
        names = [part.name for part in self.parts]
        if len(set(names)) != len(names):
            raise ValueError(f"part names must be unique: {names}")

    @classmethod
    def single(cls, data: bytes, media_type: str = JSON) -> RawResult:
        return cls((RawPart(RESPONSE, bytes(data), media_type),))

    @property
    def first(self) -> RawPart:
        return self.parts[0]

    def part(self, name: str) -> RawPart | None:
        return next((part for part in self.parts if part.name == name), None)

    def map_text_parts(self, change: Callable[[bytes], bytes]) -> RawResult:
        """The same result with `change` applied to every text part (images are left as they are)."""
        return RawResult(tuple(RawPart(p.name, change(p.data), p.media_type) if p.is_text else p
                               for p in self.parts))


# What a parser takes: a probe's result, or the bytes of a one-part one.
Raw = RawResult | bytes | bytearray | memoryview


def as_result(raw: Raw) -> RawResult:
    """A result from what a caller holds: bare bytes are a one-part JSON result (a saved body, a test's
    fixture, a payload stored before parts existed)."""
    if isinstance(raw, RawResult):
        return raw
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return RawResult.single(bytes(raw))
    raise TypeError(f"expected a raw result or bytes, got {type(raw).__name__}")
