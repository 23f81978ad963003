"""Shared transport for probes that speak HTTP through httpx: one place that turns
httpx failures and HTTP error statuses into `ProbeError`s, and that decides, by a kind's
own rule (`post_json`'s `answered`), which error status carries the engine's answer instead."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from citewatch.errors import ProbeError
from citewatch.secrets import redact
from citewatch.text import short
from probes.base import ProbeSettings
from probes.bounded import ResponseRefused, ResponseTooSlow, bounded_transport
from probes.retry_after import retry_after_seconds


def make_client(settings: ProbeSettings, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client whose every request is bounded in time and size (`probes.bounded`) and never redirected."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout), headers=headers or {},
        transport=bounded_transport(httpx, settings.timeout, settings.max_response_bytes),
        # trust_env=False: proxies come from base_url in config, not from stray environment variables
        trust_env=False, follow_redirects=False)


# Headers that carry a key; their values are masked in any error text a server echoes back.
_SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")


def bearer_client(settings: ProbeSettings) -> httpx.AsyncClient:
    """A client for APIs that take the key as ``Authorization: Bearer``: the key lives only in its default
    headers, never in the URL, a body or an error reason."""
    headers = {"Accept": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    return make_client(settings, headers)


def error_message(text: str) -> str:
    """What an HTTP error body says: the message of a JSON error envelope (`{"error": {"message": ...,
    "type": ...}}`, `{"message": ...}`; Google's in a list), with its type, status or code; else the body.
    Request ids and the rest of the envelope are left out, so that the same failure reads the same."""
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return text
    error = body.get("error")
    details = error if isinstance(error, dict) else body
    message = details.get("message") if isinstance(details.get("message"), str) else error
    if not isinstance(message, str) or not message.strip():
        return text
    label = next((str(details[key]) for key in ("type", "status", "code")
                  if isinstance(details.get(key), (str, int)) and str(details[key]).strip()), None)
    return f"{message.strip()} ({label})" if label else message.strip()


def client_secrets(client: httpx.AsyncClient) -> list[str]:
    """The keys a client sends in its headers, in every form an error text could repeat them: a bearer
    token; a basic-auth token, and the login:password pair and password it encodes."""
    found = []
    for name in _SECRET_HEADERS:
        value = client.headers.get(name, "").strip()
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic" and token:
            try:
                pair = base64.b64decode(token, validate=False).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pair = ""
            found += [token, pair, pair.partition(":")[2]]
        elif value:
            found.append(value.removeprefix("Bearer ").strip())
    return [secret for secret in found if secret]


# Whether an error response (its status and body) is the engine's answer: see `post_json`.
Answered = Callable[[int, bytes], bool]


async def post_json(client: httpx.AsyncClient, url: str, body: Any, *, headers: dict[str, str] | None = None,
                    secrets: Sequence[str | None] = (), error_text: Callable[[str], str] = error_message,
                    answered: Answered | None = None) -> bytes:
    """POST a JSON body; return the response bytes on 2xx, raise ProbeError otherwise. Keys sent in the
    client's headers, and `secrets`, never appear in the error reason; `error_text` reads a service's
    error body (default: `error_message`).

    `answered(status, body)`: a non-2xx response whose body is the engine's answer — a refusal the service
    sends with an error status, such as a content filter's HTTP 400 — is returned as the payload instead of
    raised, for the kind's parser to read (`refusal_on_client_error` builds the usual rule). It sees every
    error response before the ProbeError is raised (redirects excepted: never followed, never an answer)."""
    return await _send(client, "POST", url, dict(json=body, headers=headers), secrets, error_text, answered)


def refusal_on_client_error(is_refusal: Callable[[bytes], bool]) -> Answered:
    """The `answered` rule of a service that sends its refusals with a 4xx status: a 4xx whose body
    `is_refusal` (the kind's parser's own test, so the rule lives in one place) reads as one. A 5xx is
    never an answer: it is a failure, and retried."""

    def answered(status: int, body: bytes) -> bool:
        return 400 <= status < 500 and is_refusal(body)

    return answered


async def get_json(client: httpx.AsyncClient, url: str, params: dict[str, Any], *,
                   secrets: Sequence[str | None] = ()) -> bytes:
    """GET `url` with query `params`, as post_json does. For APIs that take the key as a query parameter
    (SerpApi's `api_key`): name it in `secrets`, since httpx's exception texts and a server's error text can
    repeat the URL, key included."""
    return await _send(client, "GET", url, dict(params=params), secrets, error_message)


async def _send(client: httpx.AsyncClient, method: str, url: str, options: dict[str, Any],
                secrets: Sequence[str | None], error_text: Callable[[str], str],
                answered: Answered | None = None) -> bytes:
    hidden = [*client_secrets(client), *(secret for secret in secrets if secret)]
    try:
        response = await client.request(method, url, **options)
    except ResponseRefused as exc:
        raise refused_error(exc) from None
    except httpx.TimeoutException:
        raise ProbeError(f"timeout after {client.timeout.read:g}s", retryable=True) from None
    except httpx.TransportError as exc:
        raise ProbeError(f"connection failed: {short(redact(str(exc) or type(exc).__name__, hidden))}",
                         retryable=True) from None
    if response.is_redirect:
        location = response.headers.get("location")
        raise redirect_error(response.status_code, redact(location, hidden) if location else None)
    if not response.is_success:
        status = response.status_code
        if answered is not None and answered(status, response.content):
            return response.content  # the engine's answer, sent with an error status
        raise ProbeError(
            # masked before shortened: a cut through the key would leave a piece no mask matches
            f"HTTP {status}: {short(redact(error_text(response.text), hidden))}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    return response.content


def refused_error(exc: ResponseRefused) -> ProbeError:
    """A response the bounded transport refused: too slow is retried like any timeout; too large or
    undecodable is not (the next answer would be the same)."""
    return ProbeError(str(exc), retryable=isinstance(exc, ResponseTooSlow))


def redirect_error(status: int, location: str | None) -> ProbeError:
    """Redirects are never followed: they would re-send the prompt (and, for some clients, the key) to
    another origin, whose answer would then be stored as the engine's."""
    where = f" to {short(location)}" if location else ""
    return ProbeError(f"HTTP {status}: redirected{where}; redirects are not followed (point base_url at the "
                      "address that answers)")
