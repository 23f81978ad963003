"""Traffic storage: files recognised by their first bytes, counts added (never replaced), periods summed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from storage import repository, traffic
from storage.models import AiCrawlerDay, AiReferralDay, AnalyticsSessionDay
from storage.records import TrafficCounts

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def project(db: Engine) -> int:
    ids = repository.sync_project(db, "p", [], [], NOW)
    return ids.project_id


def test_a_file_is_known_by_its_first_bytes_and_by_its_start_once_it_grows(db: Engine) -> None:
    project_id = project(db)
    small = b"line one\nline two\n"
    with db.begin() as connection:
        assert traffic.known_file(connection, project_id, small) is None
        saved = traffic.save_progress(connection, project_id, None, small, "/var/log/a.log", "combined",
                                      len(small), 2, 0, NOW)
    grown = small + b"line three\n" * 10_000  # longer than the head now
    head = grown[:traffic.HEAD_BYTES]
    with db.begin() as connection:
        known = traffic.known_file(connection, project_id, head)
        assert known is not None and (known.id, known.bytes_read, known.lines_read) == (saved.id, len(small), 2)
        traffic.save_progress(connection, project_id, known, head, "/var/log/a.log.1.gz", "combined",
                              len(grown), 10_002, 0, NOW)
    with db.connect() as connection:
        again = traffic.known_file(connection, project_id, head)  # now known by the longer head
        assert again is not None and (again.id, again.head_len, again.bytes_read) == (
            saved.id, traffic.HEAD_BYTES, len(grown))
        assert traffic.known_file(connection, project_id, b"line one\nline 2\n") is None  # other content
        assert traffic.known_file(connection, project_id + 1, head) is None  # another project's file
    assert [f["path"] for f in traffic.files_read(db, "p")] == ["/var/log/a.log.1.gz"]


def test_counts_are_added_and_summed_over_the_period(db: Engine) -> None:
    project_id = project(db)
    for _ in range(2):  # two chunks adding to the same rows
        with db.begin() as connection:
            traffic.add_counts(connection, AiReferralDay, project_id, {
                (date(2026, 12, 1), "chatgpt", "/products/valve"): [3, 1],
                (date(2026, 12, 2), "chatgpt", "/products/valve"): [1, 1],
                (date(2026, 12, 9), "perplexity", "/"): [5, 5]})
            traffic.add_counts(connection, AiCrawlerDay, project_id, {
                (date(2026, 12, 1), "GPTBot", "training", "verified", "/"): [7],
                (date(2026, 12, 1), "GPTBot", "training", "spoofed", "/"): [2]})
            traffic.add_counts(connection, AnalyticsSessionDay, project_id, {
                (date(2026, 12, 1), "session", "chatgpt", "/"): [4]})
    counts = traffic.period_counts(db, "p", date(2026, 12, 1), date(2026, 12, 7))
    assert counts.referrals == [("chatgpt", "/products/valve", 8, 4)]
    assert counts.crawlers == [("GPTBot", "training", "spoofed", "/", 4), ("GPTBot", "training", "verified", "/", 14)]
    assert counts.sessions == [("session", "chatgpt", "/", 8)]
    assert traffic.period_counts(db, "nobody", date(2026, 12, 1), date(2026, 12, 7)) == TrafficCounts(
        [], [], [])


def test_bot_ranges_are_replaced_per_bot(db: Engine) -> None:
    assert traffic.replace_bot_ranges(db, "GPTBot", ["20.0.0.0/8", "20.0.0.0/8", "52.1.0.0/16"], "gptbot.json",
                                      NOW) == 2
    traffic.replace_bot_ranges(db, "PerplexityBot", ["3.0.0.0/8"], "perplexitybot.json", NOW)
    traffic.replace_bot_ranges(db, "GPTBot", ["23.98.0.0/16"], "gptbot.json", NOW)
    assert traffic.stored_bot_ranges(db) == {"GPTBot": ["23.98.0.0/16"], "PerplexityBot": ["3.0.0.0/8"]}
