"""`python -m conexapi.sandbox --port 8001 --seed 7 --sales 20 --notify-url URL`."""

from __future__ import annotations

import argparse

from conexapi.sandbox.config import SandboxConfig
from conexapi.sandbox.server import run_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="conexapi-sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sales", type=int, default=20)
    parser.add_argument("--notify-url", default=None)
    parser.add_argument("--stream-interval", type=float, default=None)
    args = parser.parse_args(argv)
    config = SandboxConfig(
        seed=args.seed,
        initial_sales=args.sales,
        notify_url=args.notify_url,
        stream_interval_seconds=args.stream_interval,
    )
    run_sandbox(args.host, args.port, config)


if __name__ == "__main__":
    main()
