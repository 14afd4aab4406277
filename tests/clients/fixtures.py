"""The `settings`, `sandbox` and `runtime` fixtures of the tests that talk to the simulators.

A conftest takes them with `from tests.clients.fixtures import runtime, sandbox, settings`; they
override the root conftest's fixtures of the same names for the tests below it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from conexapi.runtime import Runtime
from conexapi.settings import Settings
from tests.clients.support import make_sandbox, sandbox_settings, wire


@pytest.fixture
def settings(db_url: str) -> Settings:
    return sandbox_settings(db_url)


@pytest.fixture
def sandbox() -> FastAPI:
    return make_sandbox()


@pytest.fixture
async def runtime(settings: Settings, sandbox: FastAPI) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings)
    await wire(rt, sandbox)
    yield rt
    await rt.aclose()
