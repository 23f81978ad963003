"""The access token, checked on every request but the health check (which the operator's monitoring calls
without it and which reveals nothing else): a Bearer header for scripts, HTTP Basic auth (any user, the
token as password) so a browser can log in. Never a query parameter: URLs end up in logs and history."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz"})
CHALLENGE = 'Basic realm="citewatch"'


def presented_secret(authorization: str | None) -> bytes | None:
    """The secret an Authorization header carries (Bearer token or Basic password); None: none."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    # Starlette decodes headers as latin-1: encoding back gives the bytes the client sent
    if scheme.lower() == "bearer":
        return credentials.strip().encode("latin-1")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip().encode("latin-1"), validate=True)
        except (binascii.Error, ValueError):
            return None
        _, colon, password = decoded.partition(b":")
        return password if colon else None
    return None


def authorized(authorization: str | None, token: str) -> bool:
    secret = presented_secret(authorization)
    # constant time, so the token cannot be guessed byte by byte from response times
    return secret is not None and hmac.compare_digest(secret, token.encode("utf-8"))


class TokenAuth:
    """ASGI middleware: 401 with a Basic challenge unless the request carries the token."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] == "lifespan" or scope.get("path") in OPEN_PATHS \
                or authorized(Headers(scope=scope).get("authorization"), self.token):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse("authentication required\n", 401, headers={"WWW-Authenticate": CHALLENGE})
        await response(scope, receive, send)
