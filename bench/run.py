#!/usr/bin/env python3
"""`bench/run.py <name> [args]` or `python -m bench.run <name> [args]`.

Names: intake, pipeline, cost, cost_cases, backlog, memory, fairness, chaos, db_restart, report,
all (every benchmark then the report; `chaos` is separate: `make chaos`).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCHMARKS = ("intake", "pipeline", "cost", "cost_cases", "backlog", "memory", "fairness")


def run(name: str, argv: list[str]) -> int:
    module = importlib.import_module(f"bench.{name}")
    started = time.monotonic()
    code = int(module.main(argv) if name != "report" else module.main())
    print(f"[run] {name} finished in {time.monotonic() - started:.0f} s (exit {code})")
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__)
        return 2
    name, rest = args[0], args[1:]
    if name == "all":
        started = time.monotonic()
        worst = 0
        for bench in BENCHMARKS:
            worst = max(worst, run(bench, []))
        run("report", [])
        print(f"[run] all benchmarks in {time.monotonic() - started:.0f} s")
        return worst
    return run(name, rest)


if __name__ == "__main__":
    raise SystemExit(main())
