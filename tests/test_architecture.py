"""The house's shape holds: imports point down the layers with no circles and no reach into another package's
private modules (import-linter's contracts in pyproject.toml, no ignore lists), and no function is over 80 lines."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80


def test_import_contracts_hold_without_ignores() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"layers", "private_modules", "acyclic_siblings"}
    assert not any("ignore_imports" in c for c in contracts)
    rooms = [c for c in contracts if c.get("containers") == ["paretodet.search"]]
    assert rooms and rooms[0]["layers"] == ["demo", "artifacts", "study", "pipeline", "store"]
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 kept, 0 broken" in proc.stdout


def _imports_of_own_package(path: Path) -> list[int]:
    """Lines where the module at ``path`` imports its own package's ``__init__`` (absolute or relative)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (
            (node.level == 0 and node.module == package) or (node.level == 1 and node.module is None)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Import) and any(alias.name == package for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_no_module_imports_its_own_package() -> None:
    """A module importing its own package's face is an import circle that acyclic_siblings does not see."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "paretodet").rglob("*.py"))
        if path.name != "__init__.py"
        for line in _imports_of_own_package(path)
    ]
    assert not found, f"modules importing their own package's __init__: {found}"


def test_no_function_is_over_80_lines() -> None:
    long = []
    for path in sorted((ROOT / "paretodet").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_each_family_is_a_subpackage_of_models() -> None:
    from paretodet.models import get_family, list_families

    for name in list_families():
        module = type(get_family(name)).__module__
        assert module.startswith(f"paretodet.models.{name}."), (name, module)
    flat = [p.name for p in (ROOT / "paretodet" / "models").glob("_*.py") if any(f in p.name for f in list_families())]
    assert not flat, f"family modules outside their subpackage: {flat}"
