"""The simulators as a process for the benchmarks: `python -m bench.sandbox_proc --config JSON`.

The same app as `python -m conexapi.sandbox`, configured from a full `SandboxConfig` JSON, without
access logs, plus one bench-only control route: `PUT /_bench/siigo-rpm {"rpm": N}` changes the
Siigo per-company request limit of the running simulator (the backlog benchmark warms known buyers
without a limit, then drains under the real 100 requests/min).
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import Request

from conexapi.sandbox import SandboxConfig, SandboxState, create_sandbox_app


def build_app(config: SandboxConfig) -> Any:
    app = create_sandbox_app(config)

    @app.put("/_bench/siigo-rpm", include_in_schema=False)
    async def siigo_rpm(request: Request) -> dict[str, int]:
        rpm = int((await request.json())["rpm"])
        state: SandboxState = request.app.state.sandbox
        state.siigo.requests_per_minute = rpm
        for company in state.siigo.companies.values():
            company.requests_per_minute = rpm
            company.window.clear()
        return {"rpm": rpm}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.sandbox_proc")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", default="{}", help="SandboxConfig as JSON")
    args = parser.parse_args(argv)
    config = SandboxConfig.model_validate_json(args.config)
    uvicorn.run(
        build_app(config),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        date_header=False,  # the sandbox sends the simulated vendors' own Date
    )


if __name__ == "__main__":
    main()
