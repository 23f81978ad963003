"""Run a command while a folder is read-only, as it is for a database on a read-only share.

As an ordinary user the folder's write bits are removed; root ignores those, so there the command runs
in a private mount namespace where the folder is bind-mounted read-only. Where neither works, the
test skips, saying why."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[str]]
READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Runner]:
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [folder, *folder.iterdir()]}
        for path, mode in modes.items():
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield lambda *command: subprocess.run(command, capture_output=True, text=True, timeout=120)
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-m", "sh", "-c", READ_ONLY_MOUNT, str(folder), "touch", str(folder / "w")],
                           capture_output=True, text=True) if unshare else None
    if probe is None or "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make {folder} read-only for root here (unshare -m with a read-only bind mount: "
                    f"{probe.stderr.strip() if probe else 'unshare not found'})")
    yield lambda *command: subprocess.run([str(unshare), "-m", "sh", "-c", READ_ONLY_MOUNT, str(folder), *command],
                                          capture_output=True, text=True, timeout=120)
