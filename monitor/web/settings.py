"""Where `citewatch serve` may listen, and the access token it then requires: read from an environment
variable the user names, never from the command line (visible in `ps`) or the config (often committed)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from citewatch.errors import UsageError

DEFAULT_TOKEN_ENV = "CITEWATCH_SERVE_TOKEN"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def serve_settings(host: str, token_env: str | None, environ: Mapping[str, str]) -> str | None:
    """The access token (None: none set). Binding beyond loopback without one is refused: anyone on the
    network could read every stored answer."""
    name = token_env or DEFAULT_TOKEN_ENV
    if not _VARIABLE.fullmatch(name):
        # the value is not repeated: it may be the token itself, pasted where its variable's name belongs
        raise UsageError("--token-env: expected the name of an environment variable (letters, digits and _) "
                         f"that holds the token, such as {DEFAULT_TOKEN_ENV}, not the token itself")
    token = (environ.get(name) or "").strip() or None
    if token is None and host.strip().lower() not in LOOPBACK:
        raise UsageError(f"--host {host}: serving beyond loopback (127.0.0.1, ::1, localhost) needs an access "
                         f"token; set the environment variable {name} to a long random value (it is read only "
                         "from the environment, never from the command line or the config)")
    return token
