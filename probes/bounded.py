"""Every HTTP request a probe makes is bounded in time and size, whatever the server does.

httpx's timeouts bound the gap between two reads, not the whole exchange: a server trickling a byte
every few seconds, or streaming a body that never ends, would hold a probe (and grow its memory)
forever. `BoundedTransport` wraps the real transport of a client and gives each request

- a total deadline: the response, headers and whole body, must arrive within `deadline` seconds;
- a size limit: at most `max_bytes` of body, counted after decompression (a small gzip body can
  inflate to gigabytes), so memory stays flat.

Past either, the request fails with `ResponseTooSlow` (a timeout, retried like one) or
`ResponseTooLarge` (not retried: the next answer would be as large). The body is decompressed here
(gzip and deflate, the only encodings asked for), so the client above sees a plain body.

It serves the httpx clients of `probes.http` and the openai SDK's client, which may be built on httpx
or on its successor httpx2 (same API): `bounded_transport(module, ...)` builds the wrapper for either.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# Only these are asked for; a server sending another encoding (br, zstd, stacked ones) is refused rather
# than passed on undecoded or decoded without a bound.
ACCEPT_ENCODING = "gzip, deflate"
_READ_SIZE = 65536


class BoundExceeded(Exception):
    """Mixed into the http module's own error classes below, so that each client reports it as its own
    error and callers can still tell a bound from any other failure."""


class ResponseTooSlow(BoundExceeded):
    pass


class ResponseTooLarge(BoundExceeded):
    pass


def bounded_transport(http: ModuleType, deadline: float, max_bytes: int = DEFAULT_MAX_BYTES,
                      **transport_options: Any) -> Any:
    """A transport of `http` (the httpx module, or httpx2) whose requests are bounded as described above.
    `transport_options` go to the real `http.AsyncHTTPTransport` (connection limits ...)."""
    errors = _errors_of(http)
    inner = http.AsyncHTTPTransport(**transport_options)

    class BoundedTransport(http.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        async def handle_async_request(self, request: Any) -> Any:
            loop = asyncio.get_running_loop()
            until = loop.time() + deadline
            request.headers["Accept-Encoding"] = ACCEPT_ENCODING
            try:
                async with asyncio.timeout_at(until):
                    response = await inner.handle_async_request(request)
            except TimeoutError:
                raise errors.too_slow(_slow_reason(deadline), request=request) from None
            headers = [(name, value) for name, value in response.headers.multi_items()
                       if name.lower() not in ("content-encoding", "content-length")]
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
                await response.aclose()
                raise errors.too_large(f"response in Content-Encoding {encoding!r}, which was not asked for",
                                       request=request)
            stream = BoundedStream(response.stream, request, until, _decoder(encoding))
            return http.Response(response.status_code, headers=headers, stream=stream,
                                 extensions=response.extensions, request=request)

        async def aclose(self) -> None:
            await inner.aclose()

    class BoundedStream(http.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, stream: Any, request: Any, until: float, decoder: Any) -> None:
            self._stream, self._request, self._until, self._decoder = stream, request, until, decoder

        async def __aiter__(self) -> AsyncIterator[bytes]:
            received = 0
            chunks = self._stream.__aiter__()
            while True:
                try:
                    async with asyncio.timeout_at(self._until):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise errors.too_slow(_slow_reason(deadline), request=self._request) from None
                data = self._inflate(chunk, max_bytes - received)
                received += len(data)
                yield data
            if self._decoder is not None:
                yield self._inflate(self._decoder.flush(), max_bytes - received)

        def _inflate(self, chunk: bytes, room: int) -> bytes:
            if self._decoder is None:
                data = chunk
            else:
                try:
                    # never more than one byte past the limit in memory, however far the body inflates
                    data = self._decoder.decompress(chunk, room + 1)
                except zlib.error as exc:
                    raise errors.decoding(f"cannot decompress the response: {exc}", request=self._request) from None
            if len(data) > room:
                raise errors.too_large(f"response larger than {_size(max_bytes)} (max_response_mb)",
                                       request=self._request)
            return data

        async def aclose(self) -> None:
            await self._stream.aclose()

    return BoundedTransport()


class _Errors:
    """The bound errors as subclasses of one http module's errors: httpx (or httpx2) and the SDK above it
    then treat them as a timeout, a read error and a decoding error."""

    def __init__(self, http: ModuleType) -> None:
        self.too_slow = type("ResponseTooSlow", (ResponseTooSlow, http.ReadTimeout), {})
        self.too_large = type("ResponseTooLarge", (ResponseTooLarge, http.ReadError), {})
        self.decoding = http.DecodingError


_ERRORS: dict[str, _Errors] = {}


def _errors_of(http: ModuleType) -> _Errors:
    if http.__name__ not in _ERRORS:
        _ERRORS[http.__name__] = _Errors(http)
    return _ERRORS[http.__name__]


def _decoder(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    return None


def _slow_reason(deadline: float) -> str:
    return f"timeout after {deadline:g}s"  # the same words as any timeout: `timeout` bounds the whole response


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB"
