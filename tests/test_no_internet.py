"""The suite-wide guard in conftest.py: loopback works, anything else is refused before a packet leaves."""

from __future__ import annotations

import socket

import pytest


def test_non_loopback_connections_are_refused() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match="tests stay on 127.0.0.1"):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routable anyway
    finally:
        sock.close()


def test_loopback_connections_still_work() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
