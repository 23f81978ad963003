"""Helpers for the tests that drive Debian's Chromium: find it (or skip with a reason), and count its processes
so that a test can prove none was left behind.

Processes are read from /proc (psutil is not installed): a Chromium process is one whose executable is
under /usr/lib/chromium (the browser, its zygotes, GPU, network and renderer processes, and the crashpad
handlers it starts, which are re-parented to init). Zombies are dead and not counted. Only this test
session's are counted: they inherit a marker set in this process's environment (through Playwright's
driver and the browser), so another session's browsers on the same machine never count.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from tests.conftest import skip_or_fail

CHROMIUM = Path(os.environ.get("CITEWATCH_CHROMIUM", "/usr/bin/chromium"))
_MARKER_NAME = "CITEWATCH_BROWSER_TEST_SESSION"
os.environ.setdefault(_MARKER_NAME, f"{os.getpid()}-{uuid.uuid4().hex}")
_MARKER = f"{_MARKER_NAME}={os.environ[_MARKER_NAME]}".encode()


def require_chromium() -> str:
    """The Chromium executable's path; the test skips (fails under CITEWATCH_REQUIRE_SERVICES=1) without it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        skip_or_fail("Playwright for Python is not installed (pip install playwright)")
    return str(CHROMIUM)


def _is_chromium(argv0: str) -> bool:
    name = argv0.rsplit("/", 1)[-1]
    return "/chromium/" in argv0 or name.startswith(("chromium", "chrome_crashpad", "chrome"))


def chromium_processes() -> dict[int, str]:
    """The live Chromium processes this test session started: pid -> command line."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{entry}/stat").read_text()
            ours = _MARKER in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:  # gone while we looked
            continue
        if not ours:
            continue
        state = stat.rsplit(")", 1)[-1].split()[0]
        if argv and argv[0] and state != "Z" and _is_chromium(argv[0].decode("utf-8", "replace")):
            found[int(entry)] = b" ".join(argv).decode("utf-8", "replace")
    return found


def browser_mains(processes: dict[int, str]) -> dict[int, str]:
    """The browsers among `processes` (helpers carry --type=, crashpad is its own program)."""
    return {pid: line for pid, line in processes.items()
            if " --type=" not in line and "crashpad" not in line.split(" ", 1)[0]}


def left_behind(baseline: set[int], within: float = 5.0) -> dict[int, str]:
    """Chromium processes started since `baseline` that are still alive after `within` seconds (processes
    of a closed context or browser take a moment to exit). Blocks: call it between tests."""
    deadline = time.monotonic() + within
    while True:
        extra = {pid: line for pid, line in chromium_processes().items() if pid not in baseline}
        if not extra or time.monotonic() >= deadline:
            return extra
        time.sleep(0.1)
