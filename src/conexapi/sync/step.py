"""What processing a sale decided: its next state, when it is due again, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conexapi.sync.models import SaleState


@dataclass
class Step:
    """What processing decided: the sale's next state, when it is due again, and why."""

    state: SaleState
    next_at: datetime | None
    message: str
    kind: str
    code: str | None = None
    error: str | None = None
    data: dict[str, Any] | None = None
    reset_attempts: bool = False
