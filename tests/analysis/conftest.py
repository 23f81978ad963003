"""Analysis tests must never reach the network (tldextract included)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    # Attempts are also recorded, because a library may swallow the error
    # (tldextract falls back to its snapshot when a download fails).
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args))
        raise NetworkUsed(f"network access attempted: {args!r}")

    # Name resolution comes before any connect, so guard both.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    monkeypatch.undo()
    if attempts:  # a test that expects attempts clears the list
        pytest.fail(f"network access attempted: {attempts}")
