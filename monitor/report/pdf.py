"""report.pdf: the HTML report printed by Chromium through Playwright, where a browser is installed.

The page is printed from its text with JavaScript off and every request refused, so nothing in it (all of
it escaped already) can run or reach the network while Chromium reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

from citewatch.browser import CHROMIUM, LAUNCH_ARGS

TIMEOUT_MS = 60_000


def write_pdf(html: Path, pdf: Path, executable: str = CHROMIUM) -> str | None:
    """Print `html` to `pdf` (A4, backgrounds on); None once written, else why not (no browser, a failed
    launch), for the caller to say. A PDF is never left half-written."""
    if not os.access(executable, os.X_OK):
        return f"no browser at {executable} (Debian: apt-get install chromium)"
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    partial = pdf.with_name(pdf.name + ".partial")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
            try:
                context = browser.new_context(java_script_enabled=False, offline=True)
                context.route("**/*", lambda route: route.abort())
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.set_content(html.read_text(encoding="utf-8"), wait_until="load")
                page.pdf(path=str(partial), format="A4", print_background=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                browser.close()
        partial.replace(pdf)
    except (PlaywrightError, OSError) as exc:
        partial.unlink(missing_ok=True)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None
