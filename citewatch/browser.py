"""How citewatch starts Chromium (Debian's package; Playwright never downloads a browser here): the
google_browser probe, `citewatch doctor` and the report's PDF share it."""

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
