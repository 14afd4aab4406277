"""SaleFacts ⇄ JSON, to keep a snapshot of what the sale looked like on the sale row."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from conexapi.messages import text
from conexapi.sales.facts import SaleFacts


def to_json(value: Any) -> Any:
    """Decimals, dates, sets and dataclasses as JSON-safe values."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def facts_to_json(facts: SaleFacts) -> dict[str, Any]:
    data: dict[str, Any] = to_json(facts)
    if facts.buyer is not None:
        # Keep what the seller needs to recognise the buyer; the full fiscal data stays in ML.
        data["buyer"] = {
            "id_type": facts.buyer.id_type,
            "identification": facts.buyer.identification,
            "name": (
                facts.buyer.company_name
                or f"{facts.buyer.first_name} {facts.buyer.last_name}".strip()
            ),
            "city": facts.buyer.city_name,
        }
    return data


def buyer_name(facts: SaleFacts) -> str:
    """What the seller sees as the buyer: the fiscal name, else the name billing info or the
    order gives, else the nickname, else "Comprador <id>" (orders since 2024 carry only the
    buyer's id, docs/vendors/mercadolibre.md §15)."""
    name = ""
    if facts.buyer is not None:
        name = facts.buyer.company_name or f"{facts.buyer.first_name} {facts.buyer.last_name}"
    name = name.strip() or facts.buyer_display_name.strip() or facts.buyer_nickname.strip()
    if not name and facts.extra.get("buyer_id"):
        name = text("sale.buyer_unnamed", id=facts.extra["buyer_id"])
    return name[:200]
