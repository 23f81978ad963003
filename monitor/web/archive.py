"""The report archive (`<archive>/<ISO week>/report.html` ...): which weeks it holds, and the one file a
request may name, checked so that no request reaches a path outside it."""

from __future__ import annotations

import re
from pathlib import Path

# ASCII only: `\d` would also match other scripts' digits
WEEK = re.compile(r"[0-9]{4}-W[0-9]{2}")
MEDIA_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.md": "text/markdown; charset=utf-8",
    "report.json": "application/json",
    "report.pdf": "application/pdf",
    "keywords.csv": "text/csv; charset=utf-8",
}
_PNG = re.compile(r"[A-Za-z0-9_-]{1,80}\.png")


def media_type(name: str) -> str | None:
    """The media type of a file name the archive serves; None for any other name."""
    if name in MEDIA_TYPES:
        return MEDIA_TYPES[name]
    return "image/png" if _PNG.fullmatch(name) else None


def archive_file(archive: Path, week: str, name: str) -> Path | None:
    """The archived file, or None. A symlink anywhere below the archive folder is refused, even one
    pointing inside it: the resolved path must be exactly the one the names spell."""
    if not WEEK.fullmatch(week) or media_type(name) is None:
        return None
    root = archive.resolve()
    spelled = root / week / name
    try:
        resolved = spelled.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    return resolved if resolved == spelled and resolved.is_file() else None


def archived_weeks(archive: Path | None) -> list[tuple[str, list[str]]]:
    """(week, the files it holds) for every week folder holding report.html, newest first."""
    if archive is None or not archive.is_dir():
        return []
    weeks = []
    for folder in archive.iterdir():
        if archive_file(archive, folder.name, "report.html") is None:
            continue
        names = sorted(child.name for child in folder.iterdir()
                       if archive_file(archive, folder.name, child.name) is not None)
        weeks.append((folder.name, names))
    return sorted(weeks, reverse=True)  # ISO week labels sort by date
