"""The wire formats the simulator speaks, by engine kind: every kind of `probes.registry` that names one.

Each module defines BASE_SUFFIX (appended to /<kind> to form the probe's base_url), handles(path),
prompt_of(path, body), model_of(path, body), render(answer) -> the JSON body the real service would
send, and optionally DEMO (a `DemoEngine`: the kind appears in the offline demo).

A GET's query parameters are its body. Optional hooks: render_request(answer, path, body) replaces
render where the reply depends on the request (it may return a `scenario.Page`: HTML, or a status other
than 200); earlier_call(path, body) -> (prompt, call_index) marks a follow-up request (a deferred part)
that renders an earlier call's answer again instead of counting a new call; failures(answer) -> the
`scenario.Page`s the service sends when it fails (error statuses and bodies), for the scenario's outages.
"""

import json
from importlib import import_module
from types import ModuleType
from typing import Any

from probes import registry
from probes.simulator.scenario import Page, error_page

FORMATS: dict[str, ModuleType] = {
    name: import_module(kind.simulator) for name, kind in registry.KINDS.items() if kind.simulator
}


def rendered(wire: ModuleType, answer: Any, path: str, body: dict[str, Any]) -> Any:
    """What a format replies to one request: `render_request` where the reply depends on the request, else
    `render` of the answer alone."""
    if hasattr(wire, "render_request"):
        return wire.render_request(answer, path, body)
    return wire.render(answer)


def failed(wire: ModuleType, answer: Any, payload: Any, pick: int) -> Page:
    """What the service sends for a call an outage takes (`scenario.fault`'s `pick` chooses): one of its own
    error replies or, one time in four, a 200 whose JSON body stops half-way (a connection a proxy cut)."""
    if not isinstance(payload, Page) and pick % 4 == 0:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return Page(body[:len(body) // 2], "application/json")
    options = wire.failures(answer) if hasattr(wire, "failures") else [
        error_page(500, {"error": {"message": "Internal server error"}})]
    return options[pick // 4 % len(options)]
