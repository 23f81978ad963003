"""What a database URL may be: `sqlite:///path` or `postgresql(+psycopg)://...`, checked without loading
SQLAlchemy (config validation runs this before any database is opened)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

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
        raise ValueError(f"{redacted(url)!r}: {exc}") from None
    if parts.password or any(key.lower() == "password" for key, _ in parse_qsl(parts.query)):
        raise ValueError("a password does not belong in storage.url (config files get shared): set PGPASSWORD "
                         "or use ~/.pgpass, which the PostgreSQL driver reads")


def with_driver(url: str) -> str:
    """The URL SQLAlchemy opens: postgresql:// gets the psycopg 3 driver that citewatch ships."""
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def redacted(url: str) -> str:
    """The URL as written, with any password (in the user part or the query) masked: fit to be shown."""
    if url.startswith("sqlite:"):
        return url  # a file path holds no password (and urlunsplit would drop a slash of it)
    parts = urlsplit(url)
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "&".join(f"{key}=***" if key.lower() == "password" else f"{key}={value}"
                     for key, value in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
