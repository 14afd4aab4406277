"""Password hashing: the cost comes from the settings, production refuses a weak one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conexapi.runtime import Runtime
from conexapi.security import passwords
from conexapi.settings import ConfigurationError, Environment, Settings
from tests.conftest import make_settings


@pytest.fixture
def default_cost() -> Iterator[None]:
    """Leaves this process's hashing cost as the test settings have it, whatever a test set."""
    yield
    passwords.configure_hashing(time_cost=1, memory_kib=64)


async def test_the_settings_choose_the_cost_and_any_cost_verifies(default_cost: None) -> None:
    cheap = passwords.hash_password("s3cret-pass")
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:", password_hash_time_cost=2, password_hash_memory_kib=19456
    )
    runtime = Runtime.build(settings)
    try:
        strong = passwords.hash_password("s3cret-pass")
    finally:
        await runtime.aclose()
    assert "$m=64,t=1,p=4$" in cheap
    assert "$m=19456,t=2,p=4$" in strong
    for stored in (cheap, strong):
        assert passwords.verify_password("s3cret-pass", stored)
        assert not passwords.verify_password("wrong", stored)
    assert not passwords.verify_password("s3cret-pass", None)
    assert not passwords.verify_password("s3cret-pass", "not-a-hash")


def production(**overrides: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.PRODUCTION,
        secret_key="k" * 32,
        encryption_key="0" * 43 + "=",
        **overrides,
    )


def test_the_default_cost_is_pwdlibs_and_production_takes_it() -> None:
    settings = production()
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (3, 65536)


@pytest.mark.parametrize(
    ("time_cost", "memory_kib"), [(1, 65536), (3, 19455), (1, 64)], ids=["passes", "memory", "both"]
)
def test_production_refuses_less_than_owasps_minimum(time_cost: int, memory_kib: int) -> None:
    with pytest.raises(ConfigurationError, match="PASSWORD_HASH"):
        production(password_hash_time_cost=time_cost, password_hash_memory_kib=memory_kib)
