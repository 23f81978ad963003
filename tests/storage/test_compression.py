"""Raw payload compression (issue 10): every codec round-trips, every payload ever stored stays readable
(zlib rows from before migration 0007, payloads of an older dictionary version), content addressing is
unchanged under concurrent writers, and migration 0007 goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlmodel import SQLModel

from citewatch.raw import HTML, PNG, RawPart, RawResult
from storage import compression, payload_store, repository
from storage.compression import Dictionary, PayloadUnreadable
from storage.db import alembic_config, make_engine, open_database
from storage.models import Observation, PayloadDictionary, RawPayload
from storage.records import EntityRow, KeywordRow, ObservationRecord, ProjectIds
from tests.conftest import REALDATA, realdata

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
WORDS = ("valve ball gate check flanged trunnion floating api 6d supplier manufacturer china pressure "
         "stainless steel forged cast industrial oil gas pipeline certified iso quality price").split()


def answer(seed: int, kind: str = "openai") -> bytes:
    """A payload shaped like an engine's (one structure per kind, text and sources of its own)."""
    rng = random.Random(f"{kind}{seed}")
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 400)))
    sources = [f"https://www.{rng.choice(WORDS)}{rng.randint(1, 999)}.com/{rng.choice(WORDS)}"
               for _ in range(rng.randint(2, 8))]
    body = {
        "id": f"resp_{rng.getrandbits(64):016x}", "object": "response", "created_at": 1764561600 + seed,
        "status": "completed", "model": "gpt-5-mini-2025-08-07", "kind": kind,
        "output": [
            {"type": "web_search_call", "id": f"ws_{rng.getrandbits(64):016x}", "status": "completed",
             "action": {"type": "search", "query": " ".join(rng.sample(WORDS, 4)),
                        "sources": [{"type": "url", "url": url} for url in sources]}},
            {"type": "message", "id": f"msg_{rng.getrandbits(64):016x}", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "logprobs": [], "annotations": [
                 {"type": "url_citation", "start_index": i * 10, "end_index": i * 10 + 9, "title": url[12:40],
                  "url": url + "?utm_source=openai"} for i, url in enumerate(sources)]}]},
        ],
        "parallel_tool_calls": True, "reasoning": {"effort": "medium", "summary": None}, "store": True,
        "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [{"type": "web_search", "search_context_size": "medium",
                                          "user_location": {"type": "approximate", "country": "US"}}],
        "usage": {"input_tokens": rng.randint(1000, 9000), "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": rng.randint(100, 900), "output_tokens_details": {"reasoning_tokens": 0}},
    }
    return json.dumps(body, indent=2).encode()


def _forget_dictionaries() -> None:
    """As a new process: no dictionary cached (this thread's compressors included)."""
    payload_store._cache.clear()
    compression._local.__dict__.clear()


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    _forget_dictionaries()


# --- the pure functions ----------------------------------------------------------------------------------

PAYLOADS = [b"", b"{}", answer(1), "恒达阀门 🚰 \u0000 end".encode(), bytes(range(256)) * 64,
            b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(50_000)]
TRAINED = compression.train_dictionary([answer(seed) for seed in range(100, 300)])


@pytest.mark.parametrize("raw", PAYLOADS, ids=["empty", "tiny", "json", "unicode", "binary", "random"])
def test_every_codec_round_trips(raw: bytes) -> None:
    dictionary = Dictionary(1, TRAINED)
    assert compression.decompress(zlib.compress(raw, 6), compression.ZLIB, None) == raw
    plain = compression.compress(raw)
    assert (plain.codec, plain.dictionary_id) == (compression.ZSTD, None)
    assert compression.decompress(plain.data, plain.codec, None) == raw
    for level in (3, compression.LEVEL, compression.ARCHIVE_LEVEL):
        packed = compression.compress(raw, dictionary, level)
        assert (packed.codec, packed.dictionary_id) == (compression.ZSTD, 1)
        assert compression.decompress(packed.data, packed.codec, dictionary) == raw


def test_a_dictionary_stores_payloads_of_its_kind_in_fewer_bytes() -> None:
    dictionary = Dictionary(1, TRAINED)
    held_out = [answer(seed) for seed in range(20)]  # none of them trained it
    plain = sum(len(compression.compress(raw).data) for raw in held_out)
    with_dictionary = sum(len(compression.compress(raw, dictionary).data) for raw in held_out)
    old = sum(len(zlib.compress(raw, 6)) for raw in held_out)
    assert with_dictionary < 0.75 * plain and with_dictionary < 0.75 * old


def test_a_payload_is_read_with_its_own_dictionary_only() -> None:
    v1 = Dictionary(1, TRAINED)
    v2 = Dictionary(2, compression.train_dictionary([answer(seed, "gemini") for seed in range(200)]))
    packed = compression.compress(answer(5), v1)
    for wrong in (None, v2):
        with pytest.raises(PayloadUnreadable, match="dictionary"):
            compression.decompress(packed.data, compression.ZSTD, wrong)
    damaged = packed.data[:40] + bytes([packed.data[40] ^ 0xFF]) + packed.data[41:]
    with pytest.raises(PayloadUnreadable):
        compression.decompress(damaged, compression.ZSTD, v1)
    with pytest.raises(PayloadUnreadable, match="zlib"):
        compression.decompress(packed.data, compression.ZLIB, None)
    with pytest.raises(PayloadUnreadable, match="unknown payload codec 'lz4'"):
        compression.decompress(packed.data, "lz4", None)


def test_decompressors_are_cached_per_id_yet_never_take_one_dictionary_for_another() -> None:
    """The same id in two databases can name two dictionaries: each payload still reads back."""
    first = Dictionary(1, TRAINED)
    second = Dictionary(1, compression.train_dictionary([answer(seed, "anthropic") for seed in range(200)]))
    a, b = compression.compress(answer(1), first), compression.compress(answer(1, "anthropic"), second)
    for _ in range(2):
        assert compression.decompress(a.data, a.codec, first) == answer(1)
        assert compression.decompress(b.data, b.codec, second) == answer(1, "anthropic")


def test_compression_is_safe_from_several_threads() -> None:
    dictionary = Dictionary(1, TRAINED)
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for seed in range(offset, offset + 30):
                raw = answer(seed)
                packed = compression.compress(raw, dictionary if seed % 2 else None)
                assert compression.decompress(packed.data, packed.codec, dictionary if seed % 2 else None) == raw
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_training_refuses_what_it_cannot_learn_from() -> None:
    with pytest.raises(ValueError, match="at least"):
        compression.train_dictionary([answer(seed) for seed in range(3)])
    with pytest.raises(ValueError, match="too small"):
        compression.train_dictionary([answer(seed) for seed in range(50)], size=100)


def test_real_payloads_round_trip_through_every_codec() -> None:
    realdata("openai_json")  # skips where the real samples are absent
    for folder in sorted(path for path in REALDATA.iterdir() if path.is_dir()):
        payloads = [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()]
        try:
            dictionary = Dictionary(1, compression.train_dictionary(payloads))
        except ValueError:  # too few in this folder
            dictionary = None
        for raw in payloads:
            packed = compression.compress(raw, dictionary)
            assert compression.decompress(packed.data, packed.codec, dictionary) == raw, folder.name


# --- in the database -------------------------------------------------------------------------------------


def _project(db: Engine) -> tuple[ProjectIds, int]:
    ids = repository.sync_project(db, "p", [EntityRow("Hengda Valve", "brand")], [KeywordRow("ball valve")], T0)
    return ids, repository.start_run(db, ids.project_id, {}, T0)


def _observe(db: Engine, ids: ProjectIds, run_id: int, raw: RawResult | bytes, kind: str = "openai",
             sample: int = 0) -> int:
    result = raw if isinstance(raw, RawResult) else RawResult.single(raw)
    return repository.save_observation(db, ids, ObservationRecord(
        run_id=run_id, keyword="ball valve", engine_id=f"{kind}-engine", engine_kind=kind, sample_index=sample,
        observed_at=T0 + timedelta(seconds=sample), status="ok", raw=result))


def _store(db: Engine, raw: bytes, kind: str | None) -> RawPayload:
    with db.begin() as connection:
        digest = repository._store_raw(connection, raw, T0, kind)
    with db.connect() as connection:
        return RawPayload(**connection.execute(select(RawPayload.__table__).where(  # type: ignore[attr-defined]
            RawPayload.hash == digest)).one()._mapping)


def _seed(db: Engine, count: int, kind: str = "openai", first: int = 0) -> tuple[ProjectIds, int, list[bytes]]:
    ids, run_id = _project(db)
    stored = [answer(seed, kind) for seed in range(first, first + count)]
    for sample, raw in enumerate(stored):
        _observe(db, ids, run_id, raw, kind, sample=first + sample)
    return ids, run_id, stored


def test_payloads_stored_before_the_migration_still_load(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0006")
    raw, part = answer(1), answer(2)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', '2026-11-01 00:00:00')"))
        connection.execute(text("INSERT INTO keyword (id, project_id, text, tags, weight, active) "
                                "VALUES (1, 1, 'ball valve', '[]', 1.0, true)"))
        connection.execute(text("INSERT INTO run (id, project_id, started_at, status, planned) "
                                "VALUES (1, 1, '2026-11-01 06:00:00', 'finished', '{}')"))
        for body in (raw, part):
            connection.execute(text("INSERT INTO raw_payload (hash, size, data, created_at) VALUES "
                                    "(:hash, :size, :data, '2026-11-01 06:00:01')"),
                               {"hash": hashlib.sha256(body).hexdigest(), "size": len(body),
                                "data": zlib.compress(body, 6)})
        connection.execute(text(
            "INSERT INTO observation (id, run_id, keyword_id, engine_id, engine_kind, sample_index, observed_at, "
            "status, has_answer, search_queries, cost, raw_hash) VALUES (1, 1, 1, 'chatgpt', 'openai', 0, "
            "'2026-11-01 06:00:01', 'ok', true, '[]', 0, :hash)"), {"hash": hashlib.sha256(raw).hexdigest()})
        for ordinal, body in enumerate((raw, part)):
            connection.execute(text("INSERT INTO observation_part (observation_id, ordinal, name, media_type, "
                                    "raw_hash) VALUES (1, :ordinal, :name, 'application/json', :hash)"),
                               {"ordinal": ordinal, "name": f"part{ordinal}", "hash": hashlib.sha256(body).hexdigest()})
    engine.dispose()
    db = open_database(db_url)
    try:
        with db.connect() as connection:
            assert set(connection.execute(select(RawPayload.codec, RawPayload.dictionary_id))) == {("zlib", None)}
        assert repository.load_raw(db, hashlib.sha256(raw).hexdigest()) == raw
        assert repository.load_raw_result(db, 1, hashlib.sha256(raw).hexdigest()) == RawResult(
            (RawPart("part0", raw), RawPart("part1", part)))
    finally:
        db.dispose()


def test_new_payloads_take_the_newest_dictionary_of_their_kind_and_older_ones_still_load(db: Engine) -> None:
    plain = _store(db, answer(9000), None)
    assert (plain.codec, plain.dictionary_id) == ("zstd", None)
    assert _store(db, answer(9001), "openai").dictionary_id is None  # no dictionary for the kind yet
    _seed(db, 40)
    (v1,) = payload_store.train_payload_dictionaries(db, "openai", min_samples=20, now=T0)
    assert v1.sample_count == 40 and 0 < v1.size <= compression.DICTIONARY_SIZE
    with_v1 = _store(db, answer(9002), "openai")
    assert (with_v1.codec, with_v1.dictionary_id) == ("zstd", v1.dictionary_id)
    assert _store(db, answer(9003, "gemini"), "gemini").dictionary_id is None  # other kinds: their own

    (v2,) = payload_store.train_payload_dictionaries(db, "openai", samples=30, min_samples=20, now=T0)
    assert v2.dictionary_id > v1.dictionary_id and v2.sample_count == 30
    assert _store(db, answer(9004), "openai").dictionary_id == v2.dictionary_id
    _forget_dictionaries()  # as a new process reads them: from the database
    assert repository.load_raw(db, with_v1.hash) == answer(9002)
    assert repository.load_raw(db, plain.hash) == answer(9000)
    with db.connect() as connection:
        versions = connection.execute(select(PayloadDictionary.id, PayloadDictionary.engine_kind,
                                             PayloadDictionary.sample_count)
                                      .order_by(PayloadDictionary.id)).all()
    assert [tuple(row) for row in versions] == [(v1.dictionary_id, "openai", 40), (v2.dictionary_id, "openai", 30)]


def test_training_reads_the_text_payloads_of_the_kind_only(db: Engine) -> None:
    ids, run_id, _ = _seed(db, 12)
    _observe(db, ids, run_id, RawResult((RawPart("page", b"<html>" + answer(77) + b"</html>", HTML),
                                         RawPart("screenshot", b"\x89PNG" + bytes(4000), PNG))), sample=50)
    for sample in range(5):
        _observe(db, ids, run_id, answer(sample, "gemini"), "gemini", sample=100 + sample)
    trained = {t.engine_kind: t for t in payload_store.train_payload_dictionaries(db, min_samples=10)}
    assert trained["openai"].sample_count == 13  # the 12 and the page; not the screenshot
    assert (trained["gemini"].dictionary_id, trained["gemini"].sample_count) == (None, 5)  # too few
    (newest,) = payload_store.train_payload_dictionaries(db, "openai", samples=4, min_samples=4)
    assert newest.sample_count == 4


def test_training_can_rewrite_the_kind_s_stored_payloads_at_once(db: Engine) -> None:
    _, _, stored = _seed(db, 25)
    (trained,) = payload_store.train_payload_dictionaries(db, "openai", min_samples=20, recompress=True)
    with db.connect() as connection:
        assert set(connection.execute(select(RawPayload.dictionary_id)).scalars()) == {trained.dictionary_id}
    assert [repository.load_raw(db, repository.payload_hash(raw)) for raw in stored] == stored


def test_recompressing_goes_batch_by_batch_and_an_interruption_loses_nothing(db: Engine,
                                                                              monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    _, _, stored = _seed(db, 30)
    with db.begin() as connection:  # a third of them as stored before migration 0007
        for raw in stored[::3]:
            connection.execute(RawPayload.__table__.update()  # type: ignore[attr-defined]
                               .where(RawPayload.hash == repository.payload_hash(raw))
                               .values(codec="zlib", data=zlib.compress(raw, 6)))
    (trained,) = payload_store.train_payload_dictionaries(db, "openai", min_samples=20)
    real_compress, calls = compression.compress, []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 25:
            raise KeyboardInterrupt  # killed in the third batch
        return real_compress(*args, **kwargs)

    monkeypatch.setattr(compression, "compress", failing)
    with pytest.raises(KeyboardInterrupt):
        payload_store.recompress_payloads(db, "openai", batch=10)
    monkeypatch.setattr(compression, "compress", real_compress)

    def with_dictionary() -> int:
        with db.connect() as connection:
            return connection.execute(select(func.count()).select_from(RawPayload)
                                      .where(RawPayload.dictionary_id == trained.dictionary_id)).scalar_one()

    assert with_dictionary() == 20  # two batches done; the third rolled back whole
    assert [repository.load_raw(db, repository.payload_hash(raw)) for raw in stored] == stored
    again = payload_store.recompress_payloads(db, "openai", batch=10)
    assert again.payloads == 10 and again.bytes_after < again.bytes_before
    assert with_dictionary() == 30
    assert payload_store.recompress_payloads(db, "openai", batch=10).payloads == 0  # nothing left to do
    _forget_dictionaries()
    assert [repository.load_raw(db, repository.payload_hash(raw)) for raw in stored] == stored


def test_answers_stored_before_a_dictionary_are_recompressed_with_it_and_read_back(db: Engine) -> None:
    ids, run_id = _project(db)
    texts = {}
    for sample in range(30):
        raw = answer(sample)
        text = json.loads(raw)["output"][-1]["content"][0]["text"]
        texts[repository.save_observation(db, ids, ObservationRecord(
            run_id=run_id, keyword="ball valve", engine_id="openai-engine", engine_kind="openai",
            sample_index=sample, observed_at=T0, status="ok", raw=RawResult.single(raw), answer_text=text,
            has_answer=True))] = text
    (trained,) = payload_store.train_payload_dictionaries(db, "openai", min_samples=20)
    done = payload_store.recompress_answers(db, "openai", batch=7)
    assert done.payloads == 30 and done.bytes_after < done.bytes_before
    with db.connect() as connection:
        assert set(connection.execute(select(Observation.answer_dictionary_id)).scalars()) == {trained.dictionary_id}
    _forget_dictionaries()
    assert repository.answer_texts(db, texts) == texts
    assert payload_store.recompress_answers(db, "openai").payloads == 0  # nothing left to do


def test_migration_down_rewrites_payloads_as_zlib_and_up_again(db_url: str) -> None:
    db = open_database(db_url)
    _, _, stored = _seed(db, 20)
    payload_store.train_payload_dictionaries(db, "openai", min_samples=10)
    stored.append(answer(500))
    with_dictionary = _store(db, stored[-1], "openai")
    assert with_dictionary.dictionary_id is not None
    command.downgrade(alembic_config(db), "0006")
    assert "payload_dictionary" not in inspect(db).get_table_names()
    assert {"codec", "dictionary_id"}.isdisjoint(c["name"] for c in inspect(db).get_columns("raw_payload"))
    with db.connect() as connection:
        rows = dict(connection.execute(text("SELECT hash, data FROM raw_payload")).all())
    assert {digest: zlib.decompress(data) for digest, data in rows.items()} == {
        repository.payload_hash(raw): raw for raw in stored}
    db.dispose()
    _forget_dictionaries()
    db = open_database(db_url)  # up again: the rows are zlib rows
    try:
        with db.connect() as connection:
            assert set(connection.execute(select(RawPayload.codec, RawPayload.dictionary_id))) == {("zlib", None)}
        assert [repository.load_raw(db, repository.payload_hash(raw)) for raw in stored] == stored
    finally:
        db.dispose()


@pytest.mark.parametrize("with_dictionary", [False, True], ids=["plain", "dictionary"])
def test_writers_storing_one_payload_at_once_store_it_once(db: Engine, with_dictionary: bool) -> None:
    if with_dictionary:
        _seed(db, 20)
        payload_store.train_payload_dictionaries(db, "openai", min_samples=10)
    raw = answer(4242)
    start = threading.Barrier(6)
    digests: list[str] = []
    failures: list[BaseException] = []

    def write() -> None:
        try:
            start.wait()
            with db.begin() as connection:
                digests.append(repository._store_raw(connection, raw, T0, "openai"))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and set(digests) == {repository.payload_hash(raw)}
    with db.connect() as connection:
        assert connection.execute(select(func.count()).select_from(RawPayload)
                                  .where(RawPayload.hash == digests[0])).scalar_one() == 1
    assert repository.load_raw(db, digests[0]) == raw


def test_the_models_match_the_migrated_schema(db: Engine) -> None:
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    tables = ("'payload_dictionary'", "'raw_payload'", "'source'", "'citation'", "'organic_result'", "'observation'",
              "'mention'", "'traffic_file'", "'ai_referral_day'", "'ai_crawler_day'", "'analytics_session_day'",
              "'bot_range'")
    ours = [d for d in differences if any(table in repr(d) for table in tables)]
    assert ours == []
