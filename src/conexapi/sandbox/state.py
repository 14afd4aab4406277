"""SandboxState: the whole in-memory world plus the Python methods the control API calls."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from conexapi.sandbox.clock import Clock
from conexapi.sandbox.config import FaultsState, SandboxConfig
from conexapi.sandbox.constants import DEFAULT_SELLER_ID
from conexapi.sandbox.faults import FaultInjector
from conexapi.sandbox.ml_state import MercadoLibreState
from conexapi.sandbox.notifier import Notifier
from conexapi.sandbox.scenario_data import siigo_seed_products
from conexapi.sandbox.scenarios import GeneratedSale, ScenarioEngine
from conexapi.sandbox.siigo_state import Company, SiigoState


def seed_products(company: Company, clock: Clock) -> None:
    for seed in siigo_seed_products():
        product = seed.product
        company.create_product(
            {
                "code": seed.code,
                "name": seed.name or product.title,
                "account_group": 1253,
                "type": "Product",
                "active": seed.active,
                "tax_classification": product.tax_classification,
                "tax_included": True,
                "taxes": [{"id": tax_id} for tax_id in product.tax_ids],
                "prices": [
                    {
                        "currency_code": "COP",
                        "price_list": [{"position": 1, "value": product.price}],
                    }
                ],
                "reference": seed.reference or seed.code,
            },
            clock.now(),
        )


class SandboxState:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.notifier = Notifier(self)
        self._stream_task: asyncio.Task[None] | None = None
        self._build(self.config.seed, self.config.initial_sales)

    def _build(self, seed: int, sales: int) -> None:
        cfg = self.config
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = Clock(cfg.clock_offset_days)
        self.faults = FaultInjector(cfg.faults, seed)
        self.ml = MercadoLibreState(self.clock, cfg.ml_access_token_ttl_seconds, self.rng)
        self.ml.app_requests_per_second = cfg.ml_app_requests_per_second
        self.siigo = SiigoState(
            self.clock, cfg.siigo_requests_per_minute, cfg.siigo_token_ttl_seconds
        )
        self.siigo.stamp_mode = cfg.stamp_mode
        self.siigo.stamp_delay_polls = cfg.stamp_delay_polls
        seed_products(self.siigo.default, self.clock)
        self.scenarios = ScenarioEngine(self.ml, lambda: self.config.quirks.mercadolibre)
        if sales:
            self.generate(DEFAULT_SELLER_ID, sales, mix=cfg.mix)
        # Wire notifications after the initial world exists: seeded sales predate the callback.
        self.ml.on_change = self.notifier.emit

    # ------------------------------------------------------------------ control
    def reset(self, seed: int | None = None, sales: int | None = None) -> None:
        self.config.seed = self.config.seed if seed is None else seed
        self._build(self.config.seed, self.config.initial_sales if sales is None else sales)

    def generate(
        self,
        seller_id: int = DEFAULT_SELLER_ID,
        count: int = 1,
        seed: int | None = None,
        mix: dict[str, float] | None = None,
        kinds: list[str] | None = None,
    ) -> list[GeneratedSale]:
        if seller_id not in self.ml.sellers:
            raise KeyError(seller_id)
        rng = random.Random(seed) if seed is not None else self.rng
        return self.scenarios.generate(rng, seller_id, count, mix or self.config.mix, kinds)

    def set_faults(self, faults: FaultsState) -> None:
        self.config.faults = faults
        self.faults.faults = faults

    def siigo_lowercase_error(self) -> bool:
        """Whether this Siigo error answer comes lowercase (quirk `error_case`)."""
        case = self.config.quirks.siigo.error_case
        return case == "lowercase" or (case == "mixed" and self.faults.coin(0.5))

    def set_clock_offset(self, days: int) -> None:
        self.config.clock_offset_days = days
        self.clock.offset_days = days

    def counts(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "mercadolibre": {
                "sellers": len(self.ml.sellers),
                "orders": len(self.ml.orders),
                "packs": len(self.ml.packs),
                "shipments": len(self.ml.shipments),
                "claims": len(self.ml.claims),
                "missed_feeds": len(self.ml.missed_feeds),
            },
            "siigo": {
                u: {
                    "customers": len(c.customers),
                    "products": len(c.products),
                    "invoices": len(c.invoices),
                    "credit_notes": len(c.credit_notes),
                }
                for u, c in self.siigo.companies.items()
            },
            "sales": len(self.scenarios.sales),
            "notifications": self.notifier.counters(),
            "stream_running": self.stream_running,
            "clock": {"now": self.clock.now().isoformat(), "offset_days": self.clock.offset_days},
        }

    # ------------------------------------------------------------------ lifecycle / stream
    async def start(self) -> None:
        await self.notifier.start()
        if self.config.stream_interval_seconds:
            self.start_stream(self.config.stream_interval_seconds, self.config.stream_batch)

    async def stop(self) -> None:
        await self.stop_stream()
        await self.notifier.stop()

    @property
    def stream_running(self) -> bool:
        return self._stream_task is not None and not self._stream_task.done()

    def start_stream(
        self, interval_seconds: float, batch: int = 1, seller_id: int = DEFAULT_SELLER_ID
    ) -> None:
        """Continuous mode (demo): every interval, apply pending follow-ups and add new sales."""
        if self.stream_running:
            assert self._stream_task is not None
            self._stream_task.cancel()
        self._stream_task = asyncio.get_running_loop().create_task(
            self._stream(interval_seconds, batch, seller_id)
        )

    async def _stream(self, interval: float, batch: int, seller_id: int) -> None:
        while True:
            await asyncio.sleep(interval)
            self.scenarios.advance()
            self.generate(seller_id, batch)

    async def stop_stream(self) -> None:
        task, self._stream_task = self._stream_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
