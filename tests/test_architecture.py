"""The architecture holds (import-linter contracts in pyproject.toml), and its contracts bite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_import_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_import_that_breaks_a_layer_fails_the_lint(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    facts = copy / "src" / "conexapi" / "sales" / "facts.py"
    facts.write_text(
        facts.read_text() + "\nimport conexapi.sync.models  # a domain → engine import\n"
    )
    result = _lint(copy)
    assert result.returncode != 0
    assert "conexapi.sales is not allowed to import conexapi.sync" in result.stdout, result.stdout
