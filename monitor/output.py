"""Writing the files a command produces: every failure names the path and why, as a UsageError."""

from __future__ import annotations

from pathlib import Path

from citewatch.errors import UsageError


def prepare_folder(path: Path, option: str) -> Path:
    """`path` as an existing folder (made where missing); UsageError naming `option` and the path if not."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot create the folder: {exc.strerror or exc}") from None
    return path


def write_text(path: Path, text: str) -> Path:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
