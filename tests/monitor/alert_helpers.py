"""For the alert tests: an answer citing given pages in OpenAI's Responses wire format, and a local HTTP
endpoint that keeps what Apprise's json:// posts to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def responses_payload(urls: list[str], text: str = "Valve makers worth a look.") -> bytes:
    """A completed Responses API answer citing `urls` in order (each as a url_citation annotation)."""
    annotations = [{"type": "url_citation", "start_index": 0, "end_index": len(text), "title": f"page {index}",
                    "url": url} for index, url in enumerate(urls)]
    return json.dumps({
        "id": "resp_alerts", "object": "response", "created_at": 1764963001, "status": "completed",
        "error": None, "incomplete_details": None, "model": "gpt-5-mini-2025-08-07",
        "output": [
            {"id": "ws_1", "type": "web_search_call", "status": "completed",
             "action": {"type": "search", "query": "valve makers"}},
            {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}]},
        ],
        "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
    }).encode()


class Endpoint:
    """POST bodies received, parsed as JSON; `status` is what it answers (change it to make it fail)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.url = ""


@contextmanager
def json_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if endpoint.status == 200:
                endpoint.bodies.append(json.loads(body))
            self.send_response(endpoint.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
