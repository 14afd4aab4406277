"""Keeps Python's full garbage collections short in long-running processes.

After start-up a process holds about a million long-lived objects (FastAPI, SQLAlchemy, pydantic,
our models). A generation-2 collection walks all of them and stalls the event loop for ~50 ms,
every notification in flight included. Freezing what exists once start-up is done moves those
objects out of the collector's sight (they live as long as the process anyway); later
collections only walk what the process allocated since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    gc.collect()
    gc.freeze()
