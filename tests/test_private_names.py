"""No module uses another module's private names (`_name`): what is shared is public.

A name starting with `_` belongs to its module; a sibling that needs it means the helper should be
public (and documented) where it lives. Checked over the product, the tests and the benchmarks:
`from conexapi.x import _name`, and `module._name` on an imported conexapi module or name.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """Each use, in `source`, of a private name of a conexapi module (`line: what`)."""
    tree = ast.parse(source)
    found: list[str] = []
    imported: set[str] = set()  # local names bound to conexapi modules or their names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "conexapi" or node.module.startswith("conexapi."):
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                    else:
                        imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "conexapi" or alias.name.startswith("conexapi."):
                    imported.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found, key=lambda use: int(use.split(":", 1)[0]))


def test_no_module_uses_a_private_name_of_another() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{use}"
        for folder in ("src/conexapi", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for use in private_uses(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_finds_each_kind_of_private_use() -> None:
    source = (
        "from conexapi.sales.facts import Fact, _round2\n"
        "import conexapi.erps.siigo.rate_limit as rl\n"
        "from conexapi.connections import known_products\n"
        "rl._MEMORY.clear()\n"
        "known_products._recent\n"
        "Fact._private_helper\n"
        "from other_package import _fine\n"
        "self._own\n"
        "known_products.__name__\n"
    )
    assert private_uses(source) == [
        "1: from conexapi.sales.facts import _round2",
        "4: rl._MEMORY",
        "5: known_products._recent",
        "6: Fact._private_helper",
    ]
