"""What a database URL may be: `sqlite:///path` or `postgresql(+psycopg)://...`, checked without loading
SQLAlchemy (config validation runs this before any database is opened)."""

from __future__ import annotations

from urllib.parse import urlsplit

SQLITE = "sqlite:///"
POSTGRESQL_SCHEMES = ("postgresql", "postgresql+psycopg")
EXAMPLES = "sqlite:///citewatch.db or postgresql://user@host:5432/citewatch"


def check_database_url(url: str) -> None:
    """Raise ValueError saying what is wrong with `url`, or return for a usable one."""
    url = url.strip()
    if url.startswith("sqlite:"):
        path = url[len(SQLITE):] if url.startswith(SQLITE) else ""
        if not path or path.startswith(":memory:") or path == "/":
            raise ValueError(f"{url!r}: give the SQLite file, e.g. sqlite:///citewatch.db (an in-memory "
                             "database would lose every observation when the command ends)")
        if "?" in path:
            raise ValueError(f"{url!r}: a SQLite URL takes a file path and no options")
        return
    scheme, separator, _ = url.partition("://")
    if not separator or scheme not in POSTGRESQL_SCHEMES:
        hint = " (write postgresql://)" if scheme == "postgres" else ""
        raise ValueError(f"{url!r} is not a database URL citewatch can use{hint}; expected {EXAMPLES}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"{_without_password(url)!r}: {exc}") from None
    if parts.password:
        raise ValueError("a password does not belong in storage.url (config files get shared): set PGPASSWORD "
                         "or use ~/.pgpass, which the PostgreSQL driver reads")


def with_driver(url: str) -> str:
    """The URL SQLAlchemy opens: postgresql:// gets the psycopg 3 driver that citewatch ships."""
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def _without_password(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{tail}" if ":" in userinfo else url
