"""Every HTTP request a probe makes is bounded in time and size, whatever the server does.

httpx's timeouts bound the gap between two reads, not the whole exchange: a server trickling a byte
every few seconds, or streaming a body that never ends, would hold a probe (and grow its memory)
forever. `BoundedTransport` wraps the real transport of a client and gives each request

- a total deadline: the response, headers and whole body, must arrive within `deadline` seconds;
- a size limit: at most `max_bytes` of body, counted after decompression (a small gzip body can
  inflate to gigabytes), so memory stays flat.

Past either, the request fails with `ResponseTooSlow` (a timeout, retried like one) or
`ResponseTooLarge` (not retried: the next answer would be as large). The body is decompressed here
(gzip and deflate, the only encodings asked for), so the client above sees a plain body; one that does
not decompress fails with `ResponseUndecodable`.

It serves the httpx clients of `probes.http` and the openai SDK's client, which may be built on httpx
or on its successor httpx2 (same API): `bounded_transport(module, ...)` builds the wrapper for either.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator
from functools import cache
from types import ModuleType
from typing import Any

import certifi

# Only these are asked for; a server sending another encoding (br, zstd, stacked ones) is refused rather
# than passed on undecoded or decoded without a bound.
ACCEPT_ENCODING = "gzip, deflate"


class ResponseRefused(Exception):
    """A response this transport would not pass on. Mixed into the http module's own error classes below,
    so that each client reports it as its own error and callers can still tell it from other failures."""


class ResponseTooSlow(ResponseRefused):
    pass


class ResponseTooLarge(ResponseRefused):
    pass


class ResponseUndecodable(ResponseRefused):
    pass


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (certifi's CAs, as httpx makes it) for every client of the process. httpx builds one
    per client otherwise, loading the CA bundle each time: a daemon making clients every run grew by about
    a quarter of a megabyte per client (bench/daemon_soak.py)."""
    return ssl.create_default_context(cafile=certifi.where())


def bounded_transport(http: ModuleType, deadline: float, max_bytes: int, **transport_options: Any) -> Any:
    """A transport of `http` (the httpx module, or httpx2) whose requests are bounded as described above.
    `transport_options` go to the real `http.AsyncHTTPTransport` (connection limits ...)."""
    errors = _errors_of(http)
    inner = http.AsyncHTTPTransport(**{"verify": shared_ssl_context(), **transport_options})

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
                raise errors.undecodable(f"response in Content-Encoding {encoding!r}, which was not asked for",
                                         request=request)
            inflater = _Inflater(encoding) if encoding not in ("identity", "") else None
            stream = BoundedStream(response.stream, request, until, inflater)
            return http.Response(response.status_code, headers=headers, stream=stream,
                                 extensions=response.extensions, request=request)

        async def aclose(self) -> None:
            await inner.aclose()

    class BoundedStream(http.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, stream: Any, request: Any, until: float, inflater: _Inflater | None) -> None:
            self._stream, self._request, self._until, self._inflater = stream, request, until, inflater

        async def __aiter__(self) -> AsyncIterator[bytes]:
            received = sent = 0  # bytes given on (decompressed) and bytes the server sent
            chunks = self._stream.__aiter__()
            while True:
                try:
                    async with asyncio.timeout_at(self._until):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise errors.too_slow(_slow_reason(deadline), request=self._request) from None
                sent += len(chunk)
                if sent > max_bytes:  # compressed input that inflates to nothing would otherwise never end
                    raise self._too_large()
                data = self._decoded(chunk, max_bytes - received)
                received += len(data)
                yield data
            if self._inflater is not None:
                yield self._decoded(b"", max_bytes - received, last=True)

        def _decoded(self, chunk: bytes, room: int, last: bool = False) -> bytes:
            if self._inflater is None:
                return self._within(chunk, room)
            try:
                # never more than one byte past the limit in memory, however far the body inflates
                data = self._inflater.finish() if last else self._inflater.inflate(chunk, room + 1)
            except zlib.error as exc:
                raise errors.undecodable(f"cannot decompress the response: {exc}", request=self._request) from None
            return self._within(data, room)

        def _within(self, data: bytes, room: int) -> bytes:
            if len(data) > room:
                raise self._too_large()
            return data

        def _too_large(self) -> Exception:
            return errors.too_large(f"response larger than {_size(max_bytes)} (max_response_mb)",
                                    request=self._request)

        async def aclose(self) -> None:
            await self._stream.aclose()

    return BoundedTransport()


class _Errors:
    """The refusals as subclasses of one http module's errors: httpx (or httpx2) and the SDK above it then
    treat them as a timeout, a read error and a decoding error."""

    def __init__(self, http: ModuleType) -> None:
        self.too_slow = type("ResponseTooSlow", (ResponseTooSlow, http.ReadTimeout), {})
        self.too_large = type("ResponseTooLarge", (ResponseTooLarge, http.ReadError), {})
        self.undecodable = type("ResponseUndecodable", (ResponseUndecodable, http.DecodingError), {})


@cache
def _errors_of(http: ModuleType) -> _Errors:
    return _Errors(http)  # one set of classes per module, so that every client raises the same ones


class _Inflater:
    """Decompresses a gzip or deflate body piece by piece, never giving more than asked for at once.
    "deflate" is zlib-wrapped by the standard, raw by some servers: raw is tried where zlib fails before
    anything came out."""

    _HEAD = 64  # a zlib header is 2 bytes: a failure past this many is not a raw stream's

    def __init__(self, encoding: str) -> None:
        gzip = encoding in ("gzip", "x-gzip")
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        # the deflate input before any output, for the raw retry; None once it cannot be raw
        self._head: bytes | None = None if gzip else b""

    def inflate(self, chunk: bytes, limit: int) -> bytes:
        try:
            data = self._zlib.decompress(chunk, limit)
        except zlib.error:
            if self._head is None:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            chunk, self._head = self._head + chunk, None
            data = self._zlib.decompress(chunk, limit)
        if self._head is not None:
            self._head = None if data or len(self._head) + len(chunk) > self._HEAD else self._head + chunk
        return data

    def finish(self) -> bytes:
        data = self._zlib.flush()
        if not self._zlib.eof:  # a body cut short (a connection closed mid-stream) is not an answer
            raise zlib.error("the body ends before its compressed stream does")
        return data


def _slow_reason(deadline: float) -> str:
    return f"timeout after {deadline:g}s"  # the same words as any timeout: `timeout` bounds the whole response


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB"
