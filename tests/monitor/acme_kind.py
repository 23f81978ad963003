"""A made-up engine kind, "acme", defined the way a real new kind is: its own module (probe and parser
here, for brevity) and one registry entry (added by the test). The probe answers without a network."""

from __future__ import annotations

import json
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw, RawResult, as_result
from probes.base import Answer, Citation, ProbeRequest, ProbeSettings

PARSER_VERSION = 1


class AcmeProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or "acme-1"
        self.url = f"{settings.base_url or 'https://acme.example'}/answer"

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        return {"model": self.model, "question": request.prompt}

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(json.dumps({"acme": True, "model": self.model, "answer": f"Hengda Valve makes {request.prompt}.",
                           "sources": ["https://hengdavalve.com/ball-valves"]}).encode())

    async def aclose(self) -> None:
        pass


def recognizes(body: dict[str, Any]) -> bool:
    return body.get("acme") is True


def parse(raw: Raw) -> Answer:
    body = json.loads(as_result(raw).first.data)
    if not isinstance(body, dict) or not recognizes(body):
        raise ParseError("not an acme body")
    citations = [Citation(url=url, position=index) for index, url in enumerate(body["sources"], start=1)]
    return Answer(text=body["answer"], citations=citations, model=body["model"])
