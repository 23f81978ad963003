"""`probes.http.post_json`'s `answered`: an error response whose body is the engine's answer (a refusal a
service sends with an error status) is returned as the payload; any other stays a ProbeError. Against a
real server on 127.0.0.1 (`recording_server`)."""

from __future__ import annotations

import json

import pytest

from citewatch.errors import ProbeError
from probes.base import ProbeSettings
from probes.http import make_client, post_json, refusal_on_client_error
from tests.probes.support import recording_server

KEY = "sk-answered-test-7e2b9c4d1f6a8035"
REFUSAL = json.dumps({"error": {"code": "refused", "message": "the engine declined"}}).encode()
INVALID = json.dumps({"error": {"code": "invalid", "message": f"bad parameter; key Bearer {KEY}"}}).encode()


def is_refusal(body: bytes) -> bool:
    try:
        return json.loads(body)["error"]["code"] == "refused"
    except (ValueError, KeyError, TypeError):
        return False


async def post(url: str, **options: object) -> bytes:
    client = make_client(ProbeSettings(timeout=5), {"Authorization": f"Bearer {KEY}"})
    try:
        return await post_json(client, url, {"prompt": "p"}, **options)  # type: ignore[arg-type]
    finally:
        await client.aclose()


async def test_an_error_body_the_predicate_accepts_is_returned_as_sent() -> None:
    seen_by_rule: list[tuple[int, bytes]] = []

    def answered(status: int, body: bytes) -> bool:
        seen_by_rule.append((status, body))
        return is_refusal(body)

    with recording_server(400, REFUSAL) as (url, seen):
        got = await post(url, answered=answered)
    assert got == REFUSAL  # byte for byte
    assert seen_by_rule == [(400, REFUSAL)] and len(seen) == 1


async def test_an_error_body_the_predicate_rejects_is_a_probe_error_without_the_key() -> None:
    with recording_server(400, INVALID) as (url, _):
        with pytest.raises(ProbeError) as caught:
            await post(url, answered=lambda status, body: is_refusal(body))
    assert caught.value.reason.startswith("HTTP 400: bad parameter; key Bearer ")
    assert caught.value.reason.endswith("(invalid)")
    assert KEY not in caught.value.reason and not caught.value.retryable


async def test_without_a_predicate_every_error_status_is_raised() -> None:
    with recording_server(400, REFUSAL) as (url, _):
        with pytest.raises(ProbeError) as caught:
            await post(url)
    assert caught.value.reason == "HTTP 400: the engine declined (refused)"


async def test_a_success_never_asks_the_predicate() -> None:
    def answered(status: int, body: bytes) -> bool:
        raise AssertionError("asked about a 2xx")

    with recording_server(200, b'{"answer": "yes"}') as (url, _):
        assert await post(url, answered=answered) == b'{"answer": "yes"}'


@pytest.mark.parametrize(("status", "returned"), [(400, True), (403, True), (422, True), (500, False),
                                                  (503, False)])
async def test_refusal_on_client_error_accepts_a_4xx_refusal_only(status: int, returned: bool) -> None:
    """A 5xx is a failure (and retried) whatever its body says."""
    rule = refusal_on_client_error(is_refusal)
    assert rule(status, REFUSAL) is returned
    assert not rule(status, INVALID)
    with recording_server(status, REFUSAL) as (url, _):
        if returned:
            assert await post(url, answered=rule) == REFUSAL
        else:
            with pytest.raises(ProbeError) as caught:
                await post(url, answered=rule)
            assert caught.value.reason.startswith(f"HTTP {status}: the engine declined")
            assert caught.value.retryable
