"""Runtimes wired to the in-process simulators (the fixtures live in tests/clients/fixtures.py)."""

from __future__ import annotations

from tests.clients.fixtures import runtime, sandbox, settings

__all__ = ["runtime", "sandbox", "settings"]
