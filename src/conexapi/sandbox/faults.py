"""Deterministic fault injection (seeded RNG held in the state)."""

from __future__ import annotations

import asyncio
import random
from enum import Enum

from conexapi.sandbox.config import FaultConfig, FaultsState


class FaultAction(Enum):
    NONE = "none"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"


class FaultInjector:
    def __init__(self, faults: FaultsState, seed: int) -> None:
        self.faults = faults
        self.rng = random.Random(seed ^ 0x5A5A)
        self.injected: dict[str, int] = {}

    def config(self, vendor: str) -> FaultConfig:
        cfg: FaultConfig = getattr(self.faults, vendor)
        return cfg

    def _hit(self, rate: float) -> bool:
        # Draw only when a fault is configured so that fault-free runs don't consume randomness.
        return rate > 0 and self.rng.random() < rate

    def _count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1

    async def before_request(self, vendor: str) -> FaultAction:
        """Latency/timeout sleeps, then decide whether to answer with an injected error."""
        cfg = self.config(vendor)
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if self._hit(cfg.timeout_rate):
            self._count(f"{vendor}.timeout")
            await asyncio.sleep(cfg.timeout_seconds)
        if self._hit(cfg.rate_limit_rate):
            self._count(f"{vendor}.rate_limit")
            return FaultAction.RATE_LIMIT
        if self._hit(cfg.error_rate):
            self._count(f"{vendor}.error")
            return FaultAction.ERROR
        return FaultAction.NONE

    async def lost_response(self) -> bool:
        """Siigo document POST: decide if the reply to an already-created document is lost."""
        cfg = self.faults.siigo
        if not self._hit(cfg.lost_response_rate):
            return False
        self._count("siigo.lost_response")
        if cfg.lost_response_mode == "hang":
            await asyncio.sleep(cfg.timeout_seconds)
        return True

    def billing_forbidden(self) -> bool:
        """A MercadoLibre billing-info call refused by the PolicyAgent (injected)."""
        hit = self._hit(self.faults.mercadolibre.billing_forbidden_rate)
        if hit:
            self._count("mercadolibre.billing_forbidden")
        return hit

    def other_topic_notification(self) -> bool:
        hit = self._hit(self.faults.notifications.other_topic_rate)
        if hit:
            self._count("notifications.other_topic")
        return hit

    def coin(self, rate: float) -> bool:
        """A seeded draw for the quirks (which shape this answer takes)."""
        return self._hit(rate)

    def drop_notification(self) -> bool:
        hit = self._hit(self.faults.notifications.drop_rate)
        if hit:
            self._count("notifications.dropped")
        return hit

    def duplicate_notification(self) -> bool:
        hit = self._hit(self.faults.notifications.duplicate_rate)
        if hit:
            self._count("notifications.duplicated")
        return hit
