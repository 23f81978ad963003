"""The import rules of DESIGN.md (contracts in pyproject.toml, checked by import-linter) hold, and the
check does catch a deliberate violation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citewatch", "monitor", "probes", "storage")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the copy's packages, not the installed ones
    return subprocess.run([str(script), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_tree_keeps_every_import_rule() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_a_parser_importing_the_database_breaks_the_check(tmp_path: Path) -> None:
    tree = copy_of_tree(tmp_path)
    common = tree / "probes" / "parsers" / "common.py"
    common.write_text(common.read_text(encoding="utf-8") + "\nimport sqlalchemy  # deliberate violation\n",
                      encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "parsers are pure" in result.stdout and "BROKEN" in result.stdout
    assert "probes.parsers.common -> sqlalchemy" in result.stdout


def test_storage_importing_monitor_breaks_the_check(tmp_path: Path) -> None:
    tree = copy_of_tree(tmp_path)
    db = tree / "storage" / "db.py"
    violation = "from monitor.clock import system_clock  # deliberate\nfrom citewatch.errors import"
    db.write_text(db.read_text(encoding="utf-8").replace("from citewatch.errors import", violation), encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "storage never imports probes or monitor BROKEN" in " ".join(result.stdout.split())


def test_the_shared_kernel_imports_only_the_standard_library_and_itself() -> None:
    import ast

    for module in sorted((ROOT / "citewatch").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("__future__", "citewatch"), f"{module.name}: {name}"
