"""The wire formats the simulator speaks, by engine kind: every kind of `probes.registry` that names one.

Each module defines BASE_SUFFIX (appended to /<kind> to form the probe's base_url), handles(path),
prompt_of(path, body), model_of(path, body), render(answer) -> the JSON body the real service would
send, and optionally DEMO (a `DemoEngine`: the kind appears in the offline demo).

A GET's query parameters are its body. Optional hooks: render_request(answer, path, body) replaces
render where the reply depends on the request (it may return a `scenario.Page`: HTML, or a status other
than 200); earlier_call(path, body) -> (prompt, call_index) marks a follow-up request (a deferred part)
that renders an earlier call's answer again instead of counting a new call.
"""

from importlib import import_module
from types import ModuleType
from typing import Any

from probes import registry

FORMATS: dict[str, ModuleType] = {
    name: import_module(kind.simulator) for name, kind in registry.KINDS.items() if kind.simulator
}


def rendered(wire: ModuleType, answer: Any, path: str, body: dict[str, Any]) -> Any:
    """What a format replies to one request: `render_request` where the reply depends on the request, else
    `render` of the answer alone."""
    if hasattr(wire, "render_request"):
        return wire.render_request(answer, path, body)
    return wire.render(answer)
