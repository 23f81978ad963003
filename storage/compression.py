"""How raw payloads are compressed: pure functions, no I/O.

A stored payload names its codec, so that every payload ever written stays readable:

- `zlib`: zlib level 6, what every payload stored before migration 0007 is;
- `zstd` without a dictionary;
- `zstd` with a dictionary: one trained on payloads of one engine kind (`train_dictionary`), kept versioned
  in the database (`payload_dictionary`); the payload names the version it was compressed with.

Payloads of one engine kind share their JSON structure, field names and boilerplate (or a results page's
scripts and styles): a dictionary holds those once, so each payload stores little more than what is its
own. zstd frames carry the content size, a 4-byte checksum of the content and the dictionary's own id:
a payload decompressed with the wrong dictionary, or damaged, fails loudly instead of coming back wrong.

Compressors and decompressors are not thread-safe: each thread keeps its own, per dictionary id.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import zstandard

ZLIB = "zlib"
ZSTD = "zstd"
CODECS = (ZLIB, ZSTD)

# zstd level for new payloads, compressed in the observation's transaction: on real payloads (see
# bench/payload_compression.py) 3 runs at ~360 MB/s against 9's ~90 and stores a few per cent more;
# `citewatch db compact` rewrites them at ARCHIVE_LEVEL with a trained dictionary anyway
LEVEL = 3
# zstd level for payloads rewritten in the background with a new dictionary (storage.payload_store)
ARCHIVE_LEVEL = 19
# zstd's own default dictionary size (110 KB): large enough for the boilerplate of a kind, small next to
# a year of payloads (each version is stored once)
DICTIONARY_SIZE = 112_640
# fewer samples than this and zstd's trainer either refuses or learns the samples themselves by heart
MIN_TRAINING_SAMPLES = 8


@dataclass(frozen=True, eq=False)
class Dictionary:
    """A stored dictionary version: its `payload_dictionary.id` and the bytes `train_dictionary` made."""

    id: int
    data: bytes


class Compressed(NamedTuple):
    """What to store for a payload: its codec, the dictionary it needs (None: none) and the bytes."""

    codec: str
    dictionary_id: int | None
    data: bytes


class PayloadUnreadable(ValueError):
    """Stored bytes that do not decompress: an unknown codec, a wrong or missing dictionary, damage."""


def train_dictionary(samples: Iterable[bytes], size: int = DICTIONARY_SIZE) -> bytes:
    """A zstd dictionary of at most `size` bytes trained on `samples` (payloads of one engine kind).

    Train on many distinct payloads (hundreds to thousands): on a few, the dictionary holds those payloads
    rather than what all payloads of the kind share, and helps little on the next ones. Raises ValueError
    where the samples are too few or too small for zstd to train on."""
    samples = [bytes(sample) for sample in samples if sample]
    if len(samples) < MIN_TRAINING_SAMPLES:
        raise ValueError(f"a dictionary needs at least {MIN_TRAINING_SAMPLES} non-empty samples, "
                         f"got {len(samples)}")
    if size < 1024:
        raise ValueError(f"a dictionary of {size} bytes is too small to hold anything useful")
    # zstd wants the samples to hold several times the dictionary's size; on less it makes a smaller one
    size = min(size, max(1024, sum(map(len, samples)) // 4))
    try:
        trained = zstandard.train_dictionary(size, samples)
    except zstandard.ZstdError as exc:
        raise ValueError(f"zstd could not train a dictionary on {len(samples)} samples: {exc}") from None
    return trained.as_bytes()


def compress(raw: bytes, dictionary: Dictionary | None = None, level: int = LEVEL) -> Compressed:
    """`raw` compressed with zstd, with `dictionary` where one is given."""
    compressor = _compressor(dictionary, level)
    return Compressed(ZSTD, dictionary.id if dictionary is not None else None, compressor.compress(raw))


def decompress(data: bytes, codec: str, dictionary: Dictionary | None = None) -> bytes:
    """The raw payload that `data` (stored with `codec`, and `dictionary` where it was compressed with one)
    holds. Raises PayloadUnreadable where it cannot be read."""
    if codec == ZLIB:
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise PayloadUnreadable(f"zlib payload does not decompress: {exc}") from None
    if codec == ZSTD:
        try:
            return _decompressor(dictionary).decompress(data)
        except zstandard.ZstdError as exc:
            needs = _frame_dictionary(data)
            if needs and dictionary is None:
                reason = "it was compressed with a dictionary and none was given"
            elif dictionary is not None and needs != _zstd_dictionary_id(dictionary):
                reason = f"it was compressed with another dictionary than version {dictionary.id}"
            else:
                reason = str(exc)
            raise PayloadUnreadable(f"zstd payload does not decompress: {reason}") from None
    raise PayloadUnreadable(f"unknown payload codec {codec!r} (known: {', '.join(CODECS)})")


# --- per-thread caches ---------------------------------------------------------------------------------

_local = threading.local()
# dictionaries whose prepared forms a thread keeps (least recently used ones go first)
_CACHED_DICTIONARIES = 32


def _compressor(dictionary: Dictionary | None, level: int) -> zstandard.ZstdCompressor:
    return _cached("compressors", dictionary, level, lambda zdict: zstandard.ZstdCompressor(
        level=level, dict_data=zdict, write_checksum=True, write_content_size=True, write_dict_id=True)
        if zdict is not None else zstandard.ZstdCompressor(level=level, write_checksum=True))


def _decompressor(dictionary: Dictionary | None) -> zstandard.ZstdDecompressor:
    return _cached("decompressors", dictionary, None, lambda zdict: zstandard.ZstdDecompressor(dict_data=zdict)
                   if zdict is not None else zstandard.ZstdDecompressor())


def _cached(kind: str, dictionary: Dictionary | None, level: int | None, make):  # type: ignore[no-untyped-def]
    """This thread's compressor or decompressor for `dictionary` (and `level`), kept per dictionary id.
    The id alone could name another dictionary in another database: the entry is reused only while the
    dictionary's bytes are the same."""
    cache: dict[tuple[int | None, int | None], tuple[bytes | None, object]] = _local.__dict__.setdefault(kind, {})
    key = (dictionary.id if dictionary is not None else None, level)
    data = dictionary.data if dictionary is not None else None
    entry = cache.pop(key, None)
    if entry is None or not (entry[0] is data or entry[0] == data):
        prepared = (zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
                    if data is not None else None)
        entry = (data, make(prepared))
        while len(cache) >= _CACHED_DICTIONARIES:
            cache.pop(next(iter(cache)))
    cache[key] = entry  # last in: most recently used
    return entry[1]


def _frame_dictionary(data: bytes) -> int:
    try:
        return int(zstandard.get_frame_parameters(data).dict_id)
    except zstandard.ZstdError:
        return 0


def _zstd_dictionary_id(dictionary: Dictionary) -> int:
    try:
        return int(zstandard.ZstdCompressionDict(dictionary.data, dict_type=zstandard.DICT_TYPE_FULLDICT).dict_id())
    except zstandard.ZstdError:
        return -1
