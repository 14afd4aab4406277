"""`conexapi doctor` and the dashboard's "Verificar configuración": does this setup work?"""

from __future__ import annotations

from conexapi.doctor.checks import run_checks
from conexapi.doctor.findings import LANGUAGES, Finding, problems

__all__ = ["LANGUAGES", "Finding", "problems", "run_checks"]
