"""The database side of payload compression: zstd dictionaries per engine kind (`payload_dictionary`).

- `newest_dictionary`: the version new payloads of a kind are compressed with (storage.repository);
- `dictionary`: a stored version by id, for reading the payloads compressed with it;
- `train_payload_dictionaries`: a new version per engine kind, trained on the kind's most recent payloads;
- `recompress_payloads`: existing payloads of a kind rewritten with a (new) version, batch by batch, each
  batch its own transaction, so that an interruption loses nothing and a second run takes up where the
  first stopped (payloads already rewritten are skipped).

Versions are only ever added, never changed nor deleted: a payload stays readable with the version it
names. Their bytes are cached in the process by (id, SHA-256), so that reading or writing a payload
costs one small indexed query and no 110 KB fetch; the hash keeps a cached version from being taken
for another database's version of the same id.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Select, insert, select, update

from storage import compression
from storage.compression import Dictionary
from storage.models import Observation, ObservationPart, PayloadDictionary, RawPayload

# Fewer distinct payloads than this and a dictionary holds those payloads rather than what the kind's
# payloads share: the kind is left without one (zstd alone does as well then).
MIN_SAMPLES = 100
SAMPLES = 2000
# training reads at most this many bytes of payloads (zstd advises ~100 x the dictionary's size; past
# that more samples change little, and memory grows with them: Google result pages weigh ~1 MB each)
MAX_TRAINING_BYTES = 64 * 1024 * 1024
# payloads rewritten per transaction
BATCH = 200


class TrainedDictionary(NamedTuple):
    """What training did for one engine kind: the new version's id (None: not trained, too few distinct
    payloads), how many payloads it was trained on and its size in bytes."""

    engine_kind: str
    dictionary_id: int | None
    sample_count: int
    size: int


class Recompressed(NamedTuple):
    """Payloads rewritten with a dictionary, and their stored bytes before and after."""

    payloads: int
    bytes_before: int
    bytes_after: int


# --- dictionaries for reading and writing ---------------------------------------------------------------

_CACHED = 64  # versions kept in the process (6 kinds x a few versions, times a few databases)
_cache: OrderedDict[tuple[int, str], Dictionary] = OrderedDict()
_cache_lock = threading.Lock()


# How long a connection trusts the newest version it looked up: a version trained by another process is
# used within this time; one trained in this process at once (the lookup costs more than compressing).
NEWEST_TTL = 60.0
_generation = 0


def _new_version_trained() -> None:
    """Every connection of this process looks the newest versions up again."""
    global _generation
    _generation += 1


def newest_dictionary(connection: Connection, engine_kind: str | None) -> Dictionary | None:
    """The version new payloads of `engine_kind` are compressed with; None where the kind has none yet."""
    if engine_kind is None:
        return None
    known = connection.info.setdefault("citewatch_newest_dictionary", {})
    found = known.get(engine_kind)
    if found is not None and found[0] == _generation and time.monotonic() - found[1] < NEWEST_TTL:
        return found[2]  # type: ignore[no-any-return]
    row = connection.execute(
        select(PayloadDictionary.id, PayloadDictionary.hash)
        .where(PayloadDictionary.engine_kind == engine_kind)
        .order_by(PayloadDictionary.id.desc()).limit(1)  # type: ignore[union-attr]
    ).first()
    newest = dictionary(connection, row.id, row.hash) if row is not None else None
    known[engine_kind] = (_generation, time.monotonic(), newest)
    return newest


def dictionary(connection: Connection, dictionary_id: int, digest: str | None = None) -> Dictionary:
    """The stored version `dictionary_id` (whose SHA-256 is `digest`, where the caller read it already)."""
    if digest is None:
        digest = connection.execute(select(PayloadDictionary.hash)
                                    .where(PayloadDictionary.id == dictionary_id)).scalar_one()
    key = (dictionary_id, digest)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    data = connection.execute(select(PayloadDictionary.data)
                              .where(PayloadDictionary.id == dictionary_id)).scalar_one()
    data = bytes(data)
    if hashlib.sha256(data).hexdigest() != digest:
        raise compression.PayloadUnreadable(f"payload dictionary {dictionary_id} does not match its hash")
    found = Dictionary(dictionary_id, data)
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return found


# what `unpack` reads of a stored payload, the dictionary's hash joined in by PAYLOAD_DICTIONARY
STORED = (RawPayload.data, RawPayload.codec, RawPayload.dictionary_id, PayloadDictionary.hash)
PAYLOAD_DICTIONARY = PayloadDictionary.id == RawPayload.dictionary_id


def select_stored(*leading: Any) -> Select[Any]:
    """`leading` columns of raw_payload and what `unpack` takes, per payload."""
    return select(*leading, *STORED).outerjoin(PayloadDictionary, PAYLOAD_DICTIONARY)


def unpack(connection: Connection, data: bytes, codec: str, dictionary_id: int | None,
           dictionary_hash: str | None = None) -> bytes:
    """A stored payload's raw bytes, whatever its codec (the columns of STORED)."""
    needed = dictionary(connection, dictionary_id, dictionary_hash) if dictionary_id is not None else None
    return compression.decompress(bytes(data), codec, needed)


def pack_answer(connection: Connection, engine_kind: str | None, text: str | None) -> dict[str, Any]:
    """The observation columns that hold an answer's text: zstd with the kind's newest dictionary (trained
    on payloads that carry such answers, it compresses their text two to ten times better than zstd alone)."""
    if text is None:
        return dict(answer=None, answer_dictionary_id=None, answer_chars=None)
    packed = compression.compress(text.encode(), newest_dictionary(connection, engine_kind))
    return dict(answer=packed.data, answer_dictionary_id=packed.dictionary_id, answer_chars=len(text))


def unpack_answer(connection: Connection, data: bytes | None, dictionary_id: int | None) -> str | None:
    """The text `pack_answer` stored (None where the observation has none)."""
    return None if data is None else unpack(connection, data, compression.ZSTD, dictionary_id).decode()


# --- training -------------------------------------------------------------------------------------------


def train_payload_dictionaries(db: Engine, engine_kind: str | None = None, samples: int = SAMPLES,
                               size: int = compression.DICTIONARY_SIZE, *, recompress: bool = False,
                               min_samples: int = MIN_SAMPLES, now: datetime | None = None
                               ) -> list[TrainedDictionary]:
    """Train and store a new dictionary version for `engine_kind` (every kind with stored payloads where
    None), each on the kind's `samples` most recent distinct text payloads (images are left out), at most
    `size` bytes. New payloads of the kind are compressed with it from then on; with `recompress`, the
    kind's stored payloads are rewritten with it too (see `recompress_payloads`)."""
    with db.connect() as connection:
        kinds = [engine_kind] if engine_kind is not None else list(connection.execute(
            select(Observation.engine_kind).distinct()
            .where(Observation.raw_hash.is_not(None))  # type: ignore[union-attr]
            .order_by(Observation.engine_kind)).scalars())
    trained = []
    for kind in kinds:
        with db.connect() as connection:
            payloads = list(_recent_payloads(connection, kind, samples))
        if len(payloads) < max(min_samples, compression.MIN_TRAINING_SAMPLES):
            trained.append(TrainedDictionary(kind, None, len(payloads), 0))
            continue
        data = compression.train_dictionary(payloads, size)
        with db.begin() as connection:  # committed before any payload uses it
            dictionary_id = connection.execute(insert(PayloadDictionary).values(
                engine_kind=kind, created_at=now or datetime.now(UTC), data=data, sample_count=len(payloads),
                hash=hashlib.sha256(data).hexdigest())).inserted_primary_key[0]  # type: ignore[index]
        _new_version_trained()
        trained.append(TrainedDictionary(kind, dictionary_id, len(payloads), len(data)))
        if recompress:
            recompress_payloads(db, kind, dictionary_id)
    return trained


def _recent_payloads(connection: Connection, engine_kind: str, limit: int) -> Iterator[bytes]:
    """The raw bytes of the kind's `limit` most recent distinct text payloads (newest observations first),
    up to MAX_TRAINING_BYTES in all."""
    wanted: dict[str, None] = {}  # distinct, in order
    before: int | None = None
    while len(wanted) < limit:
        observation_ids = list(connection.execute(
            select(Observation.id)
            .where(Observation.engine_kind == engine_kind,
                   *([Observation.id < before] if before is not None else []))
            .order_by(Observation.id.desc()).limit(500)).scalars())  # type: ignore[union-attr]
        if not observation_ids:
            break
        before = observation_ids[-1]
        for digest in connection.execute(
                select(ObservationPart.raw_hash)
                .where(ObservationPart.observation_id.in_(observation_ids),  # type: ignore[attr-defined]
                       ObservationPart.media_type.not_like("image/%"))  # type: ignore[attr-defined]
                .order_by(ObservationPart.observation_id.desc(), ObservationPart.ordinal)).scalars():
            wanted.setdefault(digest)
    total = 0
    digests = list(wanted)[:limit]
    for start in range(0, len(digests), 100):
        for raw in _payloads(connection, digests[start:start + 100]).values():
            yield raw
            total += len(raw)
            if total >= MAX_TRAINING_BYTES:
                return


def _payloads(connection: Connection, digests: list[str]) -> dict[str, bytes]:
    rows = connection.execute(
        select_stored(RawPayload.hash).where(RawPayload.hash.in_(digests))  # type: ignore[attr-defined]
    ).all()
    found = {digest: unpack(connection, data, codec, dictionary_id, dictionary_hash)
             for digest, data, codec, dictionary_id, dictionary_hash in rows}
    return {digest: found[digest] for digest in digests if digest in found}  # in the order asked


# --- rewriting stored payloads --------------------------------------------------------------------------


def recompress_payloads(db: Engine, engine_kind: str, dictionary_id: int | None = None, *, batch: int = BATCH,
                        level: int = compression.ARCHIVE_LEVEL) -> Recompressed:
    """Rewrite the stored payloads of `engine_kind`'s observations with dictionary `dictionary_id` (the
    kind's newest where None) at `level`, `batch` observations' payloads per transaction. A payload is
    rewritten only where that stores it in fewer bytes, and only once its raw bytes are checked against
    its hash; payloads already compressed with the dictionary are skipped, so a run interrupted (or run
    again) loses nothing and redoes nothing."""
    target = _target(db, engine_kind, dictionary_id)
    if target is None:
        return Recompressed(0, 0, 0)
    done, before, after, last_observation = 0, 0, 0, 0
    while True:
        with db.begin() as connection:
            observation_ids = list(connection.execute(
                select(Observation.id)
                .where(Observation.engine_kind == engine_kind, Observation.id > last_observation)
                .order_by(Observation.id).limit(batch)).scalars())
            if not observation_ids:
                break
            last_observation = observation_ids[-1]
            rows = connection.execute(
                select_stored(RawPayload.hash)
                .where(RawPayload.hash.in_(  # type: ignore[attr-defined]
                    select(ObservationPart.raw_hash)
                    .where(ObservationPart.observation_id.in_(observation_ids))),  # type: ignore[attr-defined]
                       RawPayload.dictionary_id.is_distinct_from(target.id))  # type: ignore[union-attr]
            ).all()
            for digest, data, codec, old_dictionary, old_hash in rows:
                raw = unpack(connection, data, codec, old_dictionary, old_hash)
                if hashlib.sha256(raw).hexdigest() != digest:
                    raise compression.PayloadUnreadable(f"raw payload {digest} does not match its hash")
                packed = compression.compress(raw, target, level)
                if len(packed.data) >= len(data):
                    continue
                connection.execute(update(RawPayload).where(RawPayload.hash == digest).values(
                    data=packed.data, codec=packed.codec, dictionary_id=packed.dictionary_id))
                done, before, after = done + 1, before + len(data), after + len(packed.data)
    return Recompressed(done, before, after)


def recompress_answers(db: Engine, engine_kind: str, dictionary_id: int | None = None, *, batch: int = BATCH,
                       level: int = compression.ARCHIVE_LEVEL) -> Recompressed:
    """Rewrite the stored answer texts of `engine_kind`'s observations with dictionary `dictionary_id` (the
    kind's newest where None), as `recompress_payloads` does for payloads: only where that saves bytes,
    `batch` observations per transaction, the ones already done skipped."""
    target = _target(db, engine_kind, dictionary_id)
    if target is None:
        return Recompressed(0, 0, 0)
    done, before, after, last_observation = 0, 0, 0, 0
    while True:
        with db.begin() as connection:
            rows = connection.execute(
                select(Observation.id, Observation.answer, Observation.answer_dictionary_id)
                .where(Observation.engine_kind == engine_kind, Observation.id > last_observation,
                       Observation.answer.is_not(None))  # type: ignore[union-attr]
                .order_by(Observation.id).limit(batch)).all()
            if not rows:
                break
            last_observation = rows[-1].id
            for observation_id, data, old_dictionary in rows:
                if old_dictionary == target.id:
                    continue
                text = unpack(connection, data, compression.ZSTD, old_dictionary)
                packed = compression.compress(text, target, level)
                if len(packed.data) >= len(data):
                    continue
                connection.execute(update(Observation).where(Observation.id == observation_id).values(
                    answer=packed.data, answer_dictionary_id=packed.dictionary_id))
                done, before, after = done + 1, before + len(data), after + len(packed.data)
    return Recompressed(done, before, after)


def _target(db: Engine, engine_kind: str, dictionary_id: int | None) -> Dictionary | None:
    """The dictionary to recompress with: version `dictionary_id`, or the kind's newest where None."""
    with db.connect() as connection:
        return (dictionary(connection, dictionary_id) if dictionary_id is not None
                else newest_dictionary(connection, engine_kind))
