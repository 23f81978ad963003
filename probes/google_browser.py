"""Engine kind `google_browser`: Google's result page as Debian's Chromium shows it, driven by Playwright.

``GET {base_url}/search?q=<prompt>&hl=<language>&gl=<country>`` (``udm=50`` for AI Mode) in a real
browser, because the AI Overview is written into the page by scripts, often after the page itself. One
browser serves a whole batch (launched on the first fetch); each fetch gets its own context (viewport,
user agent, locale, proxy), closed whatever happens, so nothing of one query leaks into the next.

A fetch waits for the overview (or the organic results, or a page that blocks us), snapshots the HTML
(``before``), clicks the overview's "Show more" where there is one and snapshots again (``after``), and
optionally takes a screenshot. Consent walls, CAPTCHAs and /sorry/ pages are returned as pages:
`probes.parsers.google_html` reports them as blocked.

Network only: returns the pages as the browser holds them; `probes.parsers.google_html` reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlencode

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from citewatch.browser import LAUNCH_ARGS
from citewatch.errors import ProbeError
from citewatch.raw import HTML, PNG, RawPart, RawResult
from citewatch.secrets import redact
from citewatch.text import short
from probes.base import BrowserOptions, Locale, ProbeRequest, ProbeSettings
from probes.locations import chinese_region
from probes.parsers.google_words import OVERVIEW_HEADINGS, SHOW_MORE_LABELS

DEFAULT_BASE_URL = "https://www.google.com"
AI_MODE_PARAMETER = ("udm", "50")  # Google's AI Mode tab
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "mobile": {"width": 412, "height": 915}}

# Waiting for the overview: at most this share of the timeout, so that "Show more" and the snapshots still
# fit in it. A results page with no overview yet gets `overview_wait` seconds (from its start, config) for
# one to arrive; an overview counts as rendered once the page's text has not changed for SETTLE_MS.
WAIT_SHARE = 0.6
SETTLE_MS = 400
SHOW_MORE_WAIT = 2.0  # seconds for the sources "Show more" loads
CLOSE_TIMEOUT = 10.0  # seconds for a context or the browser to close

# Statuses Google serves its blocking pages with (the /sorry/ page is a 429): returned, the parser says why.
BLOCKING_STATUSES = (403, 429)

# Markers of a page that stands between us and the results (what the parser reports as blocked).
BLOCKED_SELECTOR = ("form#captcha-form, #recaptcha, .g-recaptcha, form[action*='consent.google.'], "
                    "form[action*='/sorry/']")

# Resolves to "overview", "results" or "blocked" once the page is worth a snapshot; state is kept on the
# window, so a navigation (a redirect to /sorry/) starts it afresh.
_READY_JS = """([headings, blocked, graceMs, settleMs]) => {
  const now = performance.now();
  const norm = (t) => (t || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  if (document.querySelector(blocked) || location.pathname.includes('/sorry/')) return 'blocked';
  const state = window.__citewatchReady || (window.__citewatchReady = {length: -1, since: now});
  const heading = [...document.querySelectorAll('[role="heading"], h1, h2, h3')]
    .find((e) => headings.includes(norm(e.textContent)));
  if (heading) {
    const length = (document.body && document.body.innerText || '').length;
    if (length !== state.length) { state.length = length; state.since = now; return false; }
    return now - state.since >= settleMs ? 'overview' : false;
  }
  if (document.querySelector('#rso, #search') && now >= graceMs) return 'results';
  if (document.querySelector('[data-subtree="aimc"]') && now >= graceMs) return 'results';
  return false;
}"""

# The overview's "Show more" control: a button (or collapsed control) labelled so, inside the overview's
# block (searched from the heading up, never beyond the block holding it).
_SHOW_MORE_JS = """([headings, labels]) => {
  const norm = (t) => (t || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const heading = [...document.querySelectorAll('[role="heading"], h1, h2, h3')]
    .find((e) => headings.includes(norm(e.textContent)));
  if (!heading) return null;
  const isControl = (e) => e.matches('button, [role="button"], [aria-expanded="false"]')
    && e.getAttribute('aria-expanded') !== 'true'
    && (labels.includes(norm(e.getAttribute('aria-label'))) || labels.includes(norm(e.textContent)))
    && e.getClientRects().length > 0;
  for (let node = heading.parentElement; node && !node.matches('#rso, #search, #center_col, body');
       node = node.parentElement) {
    const control = [...node.querySelectorAll('button, [role="button"], [aria-expanded]')].find(isControl);
    if (control) return control;
    if (node.classList.contains('MjjYud')) break;
  }
  return null;
}"""

# How many links of the overview's block are shown: "Show more" has loaded its sources once this grows.
_SHOWN_LINKS_JS = """(control) => {
  let block = control;
  for (let i = 0; i < 8 && block.parentElement && !block.parentElement.matches('#rso, #search, body'); i++) {
    block = block.parentElement;
  }
  return [...block.querySelectorAll('a[href]')].filter((a) => a.getClientRects().length > 0).length;
}"""


def search_language(locale: Locale) -> str | None:
    """Google's `hl`: the language, with the country where Google tells variants apart (zh-CN, zh-TW)."""
    if not locale.language:
        return None
    region = chinese_region(locale)
    return f"zh-{region}" if region else locale.language.strip().lower()


def browser_locale(locale: Locale) -> str | None:
    """The browser's own locale (Accept-Language, navigator.language): en-US, de-DE..."""
    if not locale.language:
        return None
    language = locale.language.strip().lower()
    return f"{language}-{locale.country.strip().upper()}" if locale.country else language


def default_user_agent(chrome_version: str, viewport: str) -> str:
    """Chrome's own user agent for this version (headless Chromium says "HeadlessChrome", which Google
    treats as a robot)."""
    major = chrome_version.split(".")[0] or "120"
    if viewport == "mobile":
        return (f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 "
                "Mobile Safari/537.36")
    return f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"


def _first_line(error: BaseException) -> str:
    """Playwright's message without its call log, method name and URL ("net::ERR_CONNECTION_REFUSED"):
    the same failure reads the same for every prompt."""
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    line = re.sub(r"^[A-Za-z]+\.[A-Za-z_]+: ", "", line)
    return re.sub(r" at (?:https?|file|data):\S*$", "", line)  # the URL (and the prompt in it) is known


class GoogleBrowserProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.settings = settings
        self.options = settings.browser or BrowserOptions()
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/search"
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching: asyncio.Task[Browser] | None = None
        self._launch_lock = asyncio.Lock()
        self._closed = False

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        # Google is searched with the keyword, as people type it; AI Mode is asked the prompt (as the SerpApi
        # and DataForSEO kinds do)
        params: dict[str, Any] = {"q": request.prompt if self.options.mode == "ai_mode" else request.keyword}
        language = search_language(request.locale)
        if language:
            params["hl"] = language
        if request.locale.country:
            params["gl"] = request.locale.country.strip().lower()
        if self.options.mode == "ai_mode":
            params[AI_MODE_PARAMETER[0]] = AI_MODE_PARAMETER[1]
        return params

    def _secrets(self) -> list[str | None]:
        return [self.options.proxy_password, self.settings.api_key]

    # --- the browser, one per batch ---------------------------------------------------------------------

    async def _browser_for_batch(self) -> Browser:
        async with self._launch_lock:
            if self._closed:
                raise ProbeError("the browser probe is closed")
            if self._launching is None:
                # a task of its own: a fetch cancelled while Chromium starts must not orphan the process
                self._launching = asyncio.ensure_future(self._launch())
            launching = self._launching
        try:
            return await asyncio.shield(launching)
        except asyncio.CancelledError:
            raise
        except PlaywrightError as exc:
            raise ProbeError(f"cannot start the browser ({self.options.executable}): "
                             f"{short(redact(_first_line(exc), self._secrets()))}") from None

    async def _launch(self) -> Browser:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.options.executable, args=LAUNCH_ARGS, headless=True)
        return self._browser

    async def aclose(self) -> None:
        async with self._launch_lock:
            self._closed = True
            launching, self._launching = self._launching, None
        if launching is not None:
            # whatever the launch did (failed, or was cancelled), what it started is stopped below
            with contextlib.suppress(BaseException):
                await launching
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        try:
            if browser is not None:
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT)
        except (TimeoutError, PlaywrightError):
            pass
        finally:
            if playwright is not None:
                await playwright.stop()  # ends the driver, which kills any browser still running

    # --- one fetch ----------------------------------------------------------------------------------------

    async def fetch(self, request: ProbeRequest) -> RawResult:
        timeout = self.settings.timeout
        try:
            async with asyncio.timeout(timeout):
                return await self._fetch(request, timeout)
        except TimeoutError:
            raise ProbeError(f"timeout after {timeout:g}s", retryable=True) from None

    async def _fetch(self, request: ProbeRequest, timeout: float) -> RawResult:
        browser = await self._browser_for_batch()
        try:
            context = await self._new_context(browser, request)
        except PlaywrightError as exc:
            raise self._browser_failure(browser, exc) from None
        try:
            page = await context.new_page()
            return await self._within_size(page, self._load(page, request, timeout))
        except PlaywrightError as exc:
            raise self._browser_failure(browser, exc) from None
        finally:
            await self._close_context(context)

    def _browser_failure(self, browser: Browser, error: PlaywrightError) -> ProbeError:
        """A failure of the browser itself (it crashed, ran out of memory, was killed): retryable, and a
        browser that is gone is replaced by the next fetch, so one crash costs one probe, not the batch."""
        if not browser.is_connected() and self._browser is browser:
            self._browser, self._launching = None, None
        return ProbeError(f"browser failed: {short(redact(_first_line(error), self._secrets()))}", retryable=True)

    async def _new_context(self, browser: Browser, request: ProbeRequest) -> BrowserContext:
        options: dict[str, Any] = {
            "viewport": VIEWPORTS.get(self.options.viewport, VIEWPORTS["desktop"]),
            "user_agent": self.options.user_agent or default_user_agent(browser.version, self.options.viewport),
        }
        if self.options.viewport == "mobile":
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        locale = browser_locale(request.locale)
        if locale:
            options["locale"] = locale
        if self.options.proxy:
            proxy = {"server": self.options.proxy}
            if self.options.proxy_username:
                proxy["username"] = self.options.proxy_username
            if self.options.proxy_password:
                proxy["password"] = self.options.proxy_password
            options["proxy"] = proxy
        creating = asyncio.ensure_future(browser.new_context(**options))
        try:
            return await asyncio.shield(creating)
        except asyncio.CancelledError:
            # cancelled while the browser made it: close it once it exists
            creating.add_done_callback(_close_when_made)
            raise

    async def _close_context(self, context: BrowserContext) -> None:
        closing = asyncio.ensure_future(asyncio.wait_for(context.close(), CLOSE_TIMEOUT))
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            # cancelled (a timeout, a stopped batch): finish closing first, then let the cancellation go on
            with contextlib.suppress(Exception):
                await closing
            raise
        except (TimeoutError, PlaywrightError):
            pass  # the browser is closed with the batch in any case

    async def _within_size(self, page: Page, loading: Coroutine[Any, Any, RawResult]) -> RawResult:
        """Run `loading`, stopping it once any response of the page has brought more than
        max_response_bytes (counted decoded, as Chromium receives them: an endless body or a gzip bomb
        would otherwise load until the timeout)."""
        limit = self.settings.max_response_bytes
        received: dict[str, int] = {}
        too_large = asyncio.Event()

        def count(event: dict[str, Any]) -> None:
            request_id = str(event.get("requestId"))
            received[request_id] = received.get(request_id, 0) + int(event.get("dataLength") or 0)
            if received[request_id] > limit:
                too_large.set()

        session = await page.context.new_cdp_session(page)
        session.on("Network.dataReceived", count)
        await session.send("Network.enable")
        work = asyncio.ensure_future(loading)
        refused = asyncio.ensure_future(too_large.wait())
        try:
            await asyncio.wait({work, refused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            refused.cancel()
            if not work.done():
                work.cancel()
            await asyncio.gather(work, refused, return_exceptions=True)
        if work.done() and not work.cancelled():
            return work.result()
        raise ProbeError(f"response larger than {limit / 2**20:g} MB (max_response_mb)")

    async def _load(self, page: Page, request: ProbeRequest, timeout: float) -> RawResult:
        url = f"{self.url}?{urlencode(self.request_body(request))}"
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        except PlaywrightTimeout:
            raise ProbeError(f"timeout after {timeout:g}s", retryable=True) from None
        except PlaywrightError as exc:
            raise ProbeError(f"navigation failed: {short(redact(_first_line(exc), self._secrets()))}",
                             retryable=True) from None
        if response is not None:
            if response.status >= 500:
                raise ProbeError(f"HTTP {response.status}", retryable=True)
            if response.status >= 400 and response.status not in BLOCKING_STATUSES:
                raise ProbeError(f"HTTP {response.status}")  # no result page (a wrong base_url)
            self._check_size(response.headers.get("content-length"))

        shown = await self._wait_until_ready(page, timeout * WAIT_SHARE)
        parts = [RawPart("before", await self._snapshot(page), HTML)]
        if shown == "overview" and await self._show_more(page):
            parts.append(RawPart("after", await self._snapshot(page), HTML))
        if self.options.screenshot:
            image = await page.screenshot(full_page=True, type="png")
            if len(image) <= self.settings.max_response_bytes:  # evidence, not the answer: left out when huge
                parts.append(RawPart("screenshot", image, PNG))
        return RawResult(tuple(parts))

    def _check_size(self, length: str | int | None) -> None:
        limit = self.settings.max_response_bytes
        try:
            size = int(length) if length is not None else 0
        except ValueError:
            return
        if size > limit:
            raise ProbeError(f"response larger than {limit / 2**20:g} MB (max_response_mb)")

    async def _wait_until_ready(self, page: Page, bound: float) -> str | None:
        """Wait (at most `bound` seconds) until the overview has rendered, or the results page has had its
        grace for one, or the page blocks us. None when the bound ran out: the page is taken as it is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound
        arguments = [list(OVERVIEW_HEADINGS), BLOCKED_SELECTOR, min(self.options.overview_wait, bound) * 1000,
                     SETTLE_MS]
        while (left := deadline - loop.time()) > 0:
            try:
                handle = await page.wait_for_function(_READY_JS, arg=arguments, polling=100, timeout=left * 1000)
                return str(await handle.json_value())
            except PlaywrightTimeout:
                return None
            except PlaywrightError:  # the page navigated (a redirect) while we looked: look again
                await asyncio.sleep(0.05)
        return None

    async def _show_more(self, page: Page) -> bool:
        """Click the overview's "Show more" and wait briefly for the sources it loads. True if clicked."""
        try:
            handle = await page.evaluate_handle(_SHOW_MORE_JS, [list(OVERVIEW_HEADINGS), list(SHOW_MORE_LABELS)])
            control = handle.as_element()
            if control is None:
                return False
            links = await control.evaluate(_SHOWN_LINKS_JS)
            await control.click(timeout=SHOW_MORE_WAIT * 1000)
        except PlaywrightError:
            return False  # no clickable control: the page as it is
        try:
            await page.wait_for_function(f"([control, before]) => ({_SHOWN_LINKS_JS})(control) > before",
                                         arg=[control, links], timeout=SHOW_MORE_WAIT * 1000)
        except PlaywrightError:
            pass  # it loaded nothing more (or not in time): the snapshot shows what it did
        return True

    async def _snapshot(self, page: Page) -> bytes:
        for _ in range(3):
            try:
                html = (await page.content()).encode("utf-8")
                break
            except PlaywrightError:  # "page is navigating": take it once the navigation is done
                await page.wait_for_load_state("domcontentloaded")
        else:
            raise ProbeError("the page kept navigating; no snapshot could be taken", retryable=True)
        self._check_size(len(html))
        return html


def _close_when_made(creating: asyncio.Future[BrowserContext]) -> None:
    if not creating.cancelled() and creating.exception() is None:
        asyncio.ensure_future(creating.result().close())
