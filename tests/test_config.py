"""Config: the example file loads, and bad files give errors naming the file, key path and line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from citewatch.errors import ConfigError, UnknownEngineKind
from monitor.config import api_key, load_config, missing_api_keys
from probes.base import ProbeSettings
from probes.registry import KINDS, EngineKind

ROOT = Path(__file__).resolve().parents[1]
GOOD = """\
brand: {name: Hengda Valve, aliases: [恒达阀门], domains: [hengdavalve.com]}
keywords:
  - text: ball valve
engines:
  - id: chatgpt
    kind: openai
    api_key_env: CITEWATCH_TEST_KEY
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    return caught.value.problems or [str(caught.value)]


def test_example_config_loads_with_every_documented_key() -> None:
    config = load_config(ROOT / "config.yaml")
    assert config.brand.name
    assert any("\u4e00" <= ch <= "\u9fff" for alias in config.brand.aliases for ch in alias), "needs a Chinese alias"
    assert len(config.competitors) >= 2
    assert len(config.keywords) >= 5
    assert config.engines[0].kind == "openai"
    assert config.storage.url.startswith("sqlite:///")


def test_project_defaults_to_brand_name(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_config(path).project_name == "Hengda Valve"


def test_relative_sqlite_path_resolves_next_to_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "storage: {url: 'sqlite:///data/cw.db'}\n", encoding="utf-8")
    assert load_config(path).storage.url == f"sqlite:///{tmp_path / 'data' / 'cw.db'}"


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, GOOD.replace("    kind: openai\n", "    kind: openai\n    modle: gpt-5\n"))
    assert problems == ["line 7: engines[0].modle: unknown key"]


def test_unknown_engine_kind_lists_known_kinds(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD.replace("kind: openai", "kind: chatgpt"))
    assert problem.startswith("line 6: engines[0].kind: unknown engine kind 'chatgpt'")
    for kind in KINDS:
        assert kind in problem


def test_wrong_type_names_key_path(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD + "    samples: many\n")
    assert problem.startswith("line 8: engines[0].samples:")


def test_missing_required_section(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD.split("keywords:")[0] + "engines: [{id: a, kind: openai}]\n")
    assert "keywords: Field required" in problem


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD + "  - text: [unclosed\n")
    assert problem.startswith(f"{tmp_path / 'config.yaml'}:9: invalid YAML")


def test_keyword_naming_unknown_engine(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD.replace("  - text: ball valve\n",
                                                     "  - text: ball valve\n    engines: [gemini]\n"))
    assert "names engine 'gemini'" in problem


def test_duplicate_engine_ids(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD + "  - {id: chatgpt, kind: openai}\n")
    assert problem == "line 8: engines[1].id: 'chatgpt' is written twice (first at engines[0].id, line 5)"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: cannot read config file"):
        load_config(tmp_path / "nope.yaml")


def test_api_key_comes_from_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path)
    monkeypatch.delenv("CITEWATCH_TEST_KEY", raising=False)
    assert missing_api_keys(config) == [
        "engines[chatgpt].api_key_env: environment variable CITEWATCH_TEST_KEY is not set"]
    monkeypatch.setenv("CITEWATCH_TEST_KEY", "sk-secret-value")
    assert api_key(config.engines[0]) == "sk-secret-value"
    assert missing_api_keys(config) == []


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_check_config_cli_exit_2_and_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("kind: openai", "kind: openai\n    colour: blue"), encoding="utf-8")
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 2
    assert f"{path}: 1 problem(s)" in result.stderr
    assert "line 7: engines[0].colour: unknown key" in result.stderr


def test_check_config_cli_names_missing_key_never_its_value(tmp_path: Path) -> None:
    import os

    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CITEWATCH_TEST_KEY"}
    missing = run_cli("check-config", "--config", str(path), env=env)
    assert missing.returncode == 2 and "CITEWATCH_TEST_KEY is not set" in missing.stderr
    ok = run_cli("check-config", "--config", str(path), env={**env, "CITEWATCH_TEST_KEY": "sk-live-123456"})
    assert ok.returncode == 0, ok.stderr
    assert "sk-live-123456" not in ok.stdout + ok.stderr


def test_a_kind_without_a_probe_is_refused_with_the_kinds_available() -> None:
    planned = EngineKind("future", "a service not served yet")
    with pytest.raises(UnknownEngineKind, match="engine kind 'future' is not available in this version"):
        planned.make_probe(ProbeSettings())


def test_check_config_notes_keyless_engines(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "  - {id: local, kind: openai_compatible, "
                    "base_url: 'http://127.0.0.1:11434/v1', model: qwen3}\n  - {id: gpt, kind: openai}\n",
                    encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "x", "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert "engines[gpt] names no api_key_env" in result.stderr and "engines[local]" not in result.stderr
    assert "  gpt (openai): OpenAI Responses API, web_search tool; records citations, text spans" in result.stdout
    assert "  local (openai_compatible): " in result.stdout and "written in the text only" in result.stdout


def test_check_config_says_dashscopes_compatible_endpoint_lists_no_sources_and_checks_search_settings(
        tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "  - {id: qwen-compat, kind: openai_compatible, model: qwen-plus, "
                    "base_url: 'https://dashscope.aliyuncs.com/compatible-mode/v1'}\n"
                    "  - {id: qwen, kind: qwen, search: {forced: true, strategy: max}}\n"
                    "  - {id: glm, kind: glm, search: {engine: search_pro}}\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "x", "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert ("engines[qwen-compat] uses dashscope.aliyuncs.com's OpenAI-compatible endpoint, which searches but "
            "returns no sources") in result.stderr and "kind qwen records the engine's own source list" in result.stderr
    assert "  qwen (qwen): Qwen (通义千问) through DashScope" in result.stdout
    path.write_text(path.read_text() + "  - {id: kimi, kind: kimi}\n  - {id: kimi-compat, kind: openai_compatible, "
                    "model: moonshot-v1-auto, base_url: 'https://api.moonshot.cn/v1'}\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "x", "PATH": "/usr/bin"})
    assert "engines[kimi]: Kimi returns no source URLs" in result.stderr
    assert "engines[kimi-compat] asks api.moonshot.cn without its $web_search tool" in result.stderr
    path.write_text(path.read_text().replace("{engine: search_pro}", "{engine: search_pro, strategy: max}"),
                    encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "x", "PATH": "/usr/bin"})
    assert result.returncode == 2
    assert "search.strategy: kind glm does not take it (only qwen)" in result.stderr


@pytest.mark.parametrize(("rule", "message"), [
    ("{type: podcast, domain: a.com}", "unknown content type 'podcast'"),
    ("{type: blog}", "give at least one of domain, url_contains, url_regex"),
    ("{type: blog, url_regex: '(unclosed'}", "url_regex '(unclosed' is invalid"),
])
def test_bad_content_rule_is_named(tmp_path: Path, rule: str, message: str) -> None:
    (problem,) = problems_of(tmp_path, GOOD + f"content_types:\n  - {rule}\n")
    assert problem.startswith("line 9: content_types[0]:") and message in problem


@pytest.mark.parametrize(("base_url", "message"), [
    ("api.openai.com/v1", "is not an http(s) URL"),
    ("https://user:pw@gateway.example.com/v1", "must not carry credentials"),
    ("https://gateway.example.com/v1?api-key=abc", "must not carry credentials"),
    ("http://127.0.0.1:99999/v1", "Port out of range 0-65535"),
])
def test_base_url_is_plain_http_without_credentials(tmp_path: Path, base_url: str, message: str) -> None:
    (problem,) = problems_of(tmp_path, GOOD.replace("    kind: openai\n", f"    kind: openai\n    base_url: '{base_url}'\n"))
    assert problem.startswith("line 7: engines[0].base_url:") and message in problem


def test_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    text = GOOD + "storage:\n  url: sqlite:///a.db\n  url: sqlite:///b.db\nproject: one\nproject: two\n"
    problems = problems_of(tmp_path, text)
    assert problems == ["line 10: storage.url: duplicate key (first written at line 9)",
                        "line 12: project: duplicate key (first written at line 11)"]


def test_duplicate_keys_inside_a_list_item_name_the_item(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD + "    samples: 2\n    samples: 5\n")
    assert problem == "line 9: engines[0].samples: duplicate key (first written at line 8)"


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "  - <<: {kind: openai, api_key_env: CITEWATCH_TEST_KEY}\n    id: second\n",
                    encoding="utf-8")
    assert [e.id for e in load_config(path).engines] == ["chatgpt", "second"]


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://x", "is not a database URL citewatch can use"),
    ("not-a-url", "is not a database URL citewatch can use"),
    ("postgres://db/citewatch", "write postgresql://"),
    ("sqlite://", "give the SQLite file"),
    ("sqlite:///:memory:", "in-memory database would lose every observation"),
    ("postgresql://ci@db:port/citewatch", "Port could not be cast"),
    ("postgresql://ci:hunter22@db/citewatch", "a password does not belong in storage.url"),
])
def test_storage_url_is_checked_with_its_key_path(tmp_path: Path, url: str, message: str) -> None:
    (problem,) = problems_of(tmp_path, GOOD + f"storage:\n  url: '{url}'\n")
    assert problem.startswith("line 9: storage.url:") and message in problem
    assert "hunter22" not in problem


@pytest.mark.parametrize("url", ["sqlite:///citewatch.db", "sqlite:////var/lib/citewatch/c.db",
                                 "postgresql://ci@127.0.0.1:5432/citewatch", "postgresql+psycopg://db/citewatch",
                                 "postgresql:///citewatch?host=/run/postgresql"])
def test_usable_storage_urls_pass(tmp_path: Path, url: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + f"storage:\n  url: '{url}'\n", encoding="utf-8")
    assert load_config(path).storage.url.startswith(url.split("///")[0])


def test_check_config_refuses_a_bad_storage_url(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "storage: {url: 'mysql://x'}\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "sk-test-123456",
                                                                  "PATH": "/usr/bin"})
    assert result.returncode == 2 and "OK" not in result.stdout
    assert "line 8: storage.url: 'mysql://x' is not a database URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_notes_locales_an_engine_cannot_send(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("  - text: ball valve\n", "  - text: 球阀\n    locale: {country: cn, language: zh}\n")
                    + "  - {id: gem, kind: gemini, api_key_env: CITEWATCH_TEST_KEY}\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"CITEWATCH_TEST_KEY": "sk-test-123456",
                                                                  "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert "keywords[0] ('球阀'): locale language not to chatgpt" in result.stderr
    assert "gem" not in result.stderr.split("locale")[1]  # gemini takes a language (zh-CN)


def test_two_merges_in_one_mapping_and_aliases_are_reported_once(tmp_path: Path) -> None:
    text = ("brand: {name: Hengda Valve}\nkeywords: [{text: one}]\nengines:\n"
            "  - &d {id: e1, kind: openai, model: one, model: two}\n"
            "  - <<: *d\n    <<: *d\n    id: e2\n  - <<: *d\n    id: e3\n")
    assert problems_of(tmp_path, text) == [
        "line 4: engines[0].model: duplicate key (first written at line 4)",
        "line 6: engines[1].<<: duplicate key (first written at line 5)"]


@pytest.mark.parametrize(("encoding", "readable"), [("utf-8-sig", True), ("utf-16", True), ("gbk", False)])
def test_config_encodings(tmp_path: Path, encoding: str, readable: bool) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(GOOD.replace("恒达阀门", "恒达阀门 (杭州)").encode(encoding))
    if readable:
        assert load_config(path).brand.aliases == ["恒达阀门 (杭州)"]
    else:
        with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1: not UTF-8 text \(byte 0x"):
            load_config(path)


@pytest.mark.parametrize(("data", "says"), [
    (GOOD.encode("utf-16-le"), ":1: this looks like UTF-16 text without a byte-order mark"),
    (GOOD.encode("utf-16-be"), ":1: this looks like UTF-16 text without a byte-order mark"),
    (b"brand: {name: x}\nkeywords: [\x00\x01\x02\xff]\n", ":2: this looks like a binary file, not text"),
])
def test_utf16_without_a_byte_order_mark_and_binary_files_are_named(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path) + says)}"):
        load_config(path)


def test_a_value_no_database_can_store_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("  - text: ball valve", '  - text: "ball\\0valve"\n  - text: "valve \\ud800"'),
                    encoding="utf-8")
    result = subprocess.run([str(Path(sys.executable).with_name("citewatch")), "check-config", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "line 3: keywords[0].text: contains the character U+0000, which no database stores as text" in result.stderr
    assert "line 4: keywords[1].text: contains the character U+D800" in result.stderr
