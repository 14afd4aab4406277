"""Password hashing with Argon2id (pwdlib).

The cost is pwdlib's default (64 MiB, 3 passes, 4 lanes) unless `Runtime.build` sets another
from the settings (`CONEXAPI_PASSWORD_HASH_MEMORY_KIB`, `CONEXAPI_PASSWORD_HASH_TIME_COST`;
production refuses less than OWASP's minimum, the test settings use a tiny one). A hash carries
its own parameters, so a hash made at any cost verifies at any other.
"""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 65536
_PARALLELISM = 4

_cost = (DEFAULT_TIME_COST, DEFAULT_MEMORY_KIB)
_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the e-mail is unknown, so a miss costs the same time as a wrong password
# (made again whenever the cost changes).
_DUMMY_PASSWORD = "conexapi-timing-equalizer"
_dummy_hash = _hasher.hash(_DUMMY_PASSWORD)


def configure_hashing(*, time_cost: int, memory_kib: int) -> None:
    """The cost of the hashes made from now on in this process."""
    global _cost, _hasher, _dummy_hash
    if (time_cost, memory_kib) == _cost:
        return
    _cost = (time_cost, memory_kib)
    _hasher = PasswordHash(
        (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=_PARALLELISM),)
    )
    _dummy_hash = _hasher.hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _dummy_hash)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash is a failed login, never a 500
        return False
