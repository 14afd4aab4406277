"""Faithful in-memory simulators of the MercadoLibre and Siigo Nube APIs (one FastAPI app).

Entry points: :func:`create_sandbox_app`, :func:`start_sandbox_in_thread`, :func:`run_sandbox`.
"""

from conexapi.sandbox.app import create_sandbox_app
from conexapi.sandbox.config import FaultConfig, NotificationFaults, SandboxConfig
from conexapi.sandbox.constants import (
    DEFAULT_SELLER_ID,
    DEFAULT_SELLER_NICKNAME,
    ML_CLIENT_ID,
    ML_CLIENT_SECRET,
    SANDBOX_APPLICATION_ID,
    SIIGO_ACCESS_KEY,
    SIIGO_USERNAME,
)
from conexapi.sandbox.server import RunningSandbox, run_sandbox, start_sandbox_in_thread
from conexapi.sandbox.state import SandboxState

__all__ = [
    "DEFAULT_SELLER_ID",
    "DEFAULT_SELLER_NICKNAME",
    "ML_CLIENT_ID",
    "ML_CLIENT_SECRET",
    "SANDBOX_APPLICATION_ID",
    "SIIGO_ACCESS_KEY",
    "SIIGO_USERNAME",
    "FaultConfig",
    "NotificationFaults",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxState",
    "create_sandbox_app",
    "run_sandbox",
    "start_sandbox_in_thread",
]
