"""One error tree for citewatch. The CLI turns it into messages and exit codes in one place (`monitor.cli`).

    CitewatchError              anything citewatch raises on purpose, with a message meant for the user
    ├── ConfigError             config.yaml or the environment is wrong (names the file, key path and line)
    │   └── UnknownEngineKind   an engine kind this version cannot run (names the kinds it can)
    ├── UsageError              bad command-line input: an option's value, a file to read, a folder to write
    │   └── NothingToResume     `run --resume` where the newest run is not interrupted
    ├── StorageError            the database failed; translated from SQLAlchemy in one place (`storage.db`)
    │   ├── DatabaseUnavailable the database cannot be reached, or the connection was lost
    │   ├── SchemaMismatch      the schema is not the one this version expects (migration pending, or newer)
    │   └── RecordRefused       the database refused one record's values (a constraint, a value it cannot hold)
    ├── ProbeError              one probe got no usable payload: timeout, HTTP error, refused connection
    ├── ParseError              a payload its parser does not understand (garbage, wrong shape)
    ├── BatchFailed             a batch ran, but every probe in it failed
    └── DaemonRunning           another daemon holds the database (named: host, pid, since)

ProbeError and ParseError never stop a batch: the pipeline stores them as observations with
status `error` (or `blocked`), so a failed probe is never counted as "not cited".
"""

from __future__ import annotations

from citewatch.status import ERROR, AnswerStatus


class CitewatchError(Exception):
    """Base of the tree; `str(error)` is the whole message for the user."""


class ConfigError(CitewatchError):
    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        return "\n".join([head, *("  - " + p for p in self.problems)])


class UnknownEngineKind(ConfigError):
    def __init__(self, kind: str, available: list[str]) -> None:
        super().__init__(f"engine kind {kind!r} is not available in this version; "
                         f"available: {', '.join(available)}")
        self.kind = kind


class UsageError(CitewatchError):
    pass


class NothingToResume(UsageError):
    pass


class StorageError(CitewatchError):
    pass


class DatabaseUnavailable(StorageError):
    pass


class SchemaMismatch(StorageError):
    pass


class RecordRefused(StorageError):
    """Only this record could not be written; the database itself is fine (the batch stores it as a failure
    with this reason and goes on)."""


class ProbeError(CitewatchError):
    """A probe could not get a usable payload. `retryable` failures (429, 5xx, timeouts) are retried by
    the runner, waiting `retry_after` seconds where the service said how long."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None,
                 status: AnswerStatus = ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status

    def __str__(self) -> str:
        return self.reason  # the runner adds to the reason (attempts, Retry-After) after raising


class ParseError(CitewatchError):
    pass


class BatchFailed(CitewatchError):
    pass


class DaemonRunning(CitewatchError):
    """Another daemon holds the database's daemon lock (storage.daemon_lock)."""
