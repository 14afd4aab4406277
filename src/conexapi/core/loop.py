"""The event loop long-running processes use: uvloop where it is available (Linux, macOS).

The worker spends most of its time in socket I/O to MercadoLibre, Siigo and the database;
uvloop's transports cost a fraction of asyncio's pure-Python ones. Uvicorn picks uvloop on its
own for the API; this does the same for the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # Windows: the standard loop
        return asyncio.run(main)
    return uvloop.run(main)
