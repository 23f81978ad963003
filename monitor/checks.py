"""What `check-config` notes about a valid config: things that work, but maybe not as the user thinks."""

from __future__ import annotations

from monitor.config import Config
from probes import registry


def engine_lines(config: Config) -> list[str]:
    """One line per enabled engine: the service, what it records beyond the answer, the locale it sends."""
    lines = []
    for engine in config.engines:
        if not engine.enabled:
            continue
        kind = registry.KINDS[engine.kind]
        records = [what for what, has in (("text spans", kind.spans),
                                          ("pages searched but not cited", kind.retrieved_sources),
                                          ("organic results and SERP features", kind.serp)) if has]
        cited = "the AI Overview's sources" if kind.serp else "citations"
        lines.append(f"{engine.id} ({engine.kind}): {kind.service}; records {cited}"
                     f"{', ' + ', '.join(records) if records else ' written in the text only'}; sends locale "
                     f"{', '.join(sorted(kind.locale)) or 'none'}")
    return lines


def config_notes(config: Config) -> list[str]:
    return [*_keyless(config), *_unsent_locales(config)]


def _keyless(config: Config) -> list[str]:
    """Enabled engines whose service normally wants a key but whose config names no key variable."""
    return [
        f"engines[{engine.id}] names no api_key_env: requests go without a key "
        "(right for a local simulator or a keyless gateway)"
        for engine in config.engines
        if engine.enabled and engine.api_key_env is None and registry.KINDS[engine.kind].needs_api_key
    ]


def _unsent_locales(config: Config) -> list[str]:
    """Keyword locale fields an engine's API has no place for: the prompt alone steers that engine there."""
    notes = []
    for index, keyword in enumerate(config.keywords):
        given = {name for name, value in keyword.locale.model_dump().items() if value}
        unsent: dict[str, list[str]] = {}  # "language" -> engine ids that cannot send it
        for engine in config.engines:
            if engine.enabled and (keyword.engines is None or engine.id in keyword.engines):
                for name in sorted(given - registry.KINDS[engine.kind].locale):
                    unsent.setdefault(name, []).append(engine.id)
        if unsent:
            parts = "; ".join(f"{name} not to {', '.join(ids)}" for name, ids in unsent.items())
            notes.append(f"keywords[{index}] ({keyword.text!r}): locale {parts}: their APIs take no such field, "
                         "so only the prompt steers them")
    return notes
