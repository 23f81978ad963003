"""What `check-config` notes about a valid config: things that work, but maybe not as the user thinks."""

from __future__ import annotations

from urllib.parse import urlsplit

from monitor.config import LOOPBACK_HOSTS, Config, channel_url, channel_variables
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


# the services whose OpenAI-compatible endpoint searches but lists no sources, and the kind that records them
_SOURCELESS_COMPATIBLE = {"dashscope.aliyuncs.com": "qwen", "dashscope-intl.aliyuncs.com": "qwen"}
_MOONSHOT = ("api.moonshot.cn", "api.moonshot.ai")


def config_notes(config: Config) -> list[str]:
    return [*_keyless(config), *_unsent_locales(config), *_sources_not_recorded(config), *_alert_channels(config)]


def _sources_not_recorded(config: Config) -> list[str]:
    """Engines whose answers come without the sources the service could give (or with none to give)."""
    notes = []
    for engine in config.engines:
        host = urlsplit(engine.base_url or "").hostname or ""
        kind = _SOURCELESS_COMPATIBLE.get(host)
        if engine.enabled and engine.kind == "openai_compatible" and kind is not None:
            notes.append(f"engines[{engine.id}] uses {host}'s OpenAI-compatible endpoint, which searches but "
                         f"returns no sources: only URLs written in the answer are recorded; kind {kind} "
                         "records the engine's own source list")
        if engine.enabled and engine.kind == "openai_compatible" and host in _MOONSHOT:
            notes.append(f"engines[{engine.id}] asks {host} without its $web_search tool: Kimi answers from "
                         "memory; kind kimi runs its web search (Kimi lists no sources either way: only URLs "
                         "written in the answer are recorded)")
        if engine.enabled and engine.kind == "kimi":
            notes.append(f"engines[{engine.id}]: Kimi returns no source URLs; only mentions and URLs written in "
                         "the answer are recorded")
    return notes


def _alert_channels(config: Config) -> list[str]:
    """Channels that would leak a token into a shared config file, or cannot be sent to yet."""
    notes = []
    if config.alerts.channels and not config.alerts.rules:
        notes.append("alerts.channels are set but alerts.rules is empty: no alert is ever sent")
    for index, channel in enumerate(config.alerts.channels):
        names = channel_variables(channel)
        if not names and urlsplit(channel).hostname not in LOOPBACK_HOSTS:
            notes.append(f"alerts.channels[{index}] is written out in the config: if its URL carries a token "
                         "(most services' do), put the URL in an environment variable and write ${NAME}")
        elif names and channel_url(channel) is None:
            notes.append(f"alerts.channels[{index}] names {', '.join(names)}, not set here: alerts to it fail "
                         "until it is")
    return notes


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
