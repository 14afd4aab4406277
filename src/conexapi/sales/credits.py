"""Which credit note comes next for an invoiced sale, and what it credits (pure).

A credit note credits what came back, on the invoice lines it came back from:

- an order of the sale cancelled after invoicing: that order's lines, whole (and, when every
  order is gone, the rest of the invoice with its shipping); the whole invoice cancelled before
  any other credit note is an annulment (DIAN concept 2);
- a return (a claim's `return_quantity`): the returned units of that order's line (concept 1,
  "devolución parcial de los bienes");
- money given back without goods coming back: a discount on that order's lines (concept 3
  "rebaja o descuento", or 4 "ajuste de precio" by setting), never returned units;
- a refund MercadoLibre covered itself (a claim with coverage): nothing, the seller keeps the
  money and the invoice stands.

Every credit takes from the lines what is left of them; the credit that takes a line's last
units takes its last centavos too, so a fully refunded invoice ends fully credited. One credit
note per event; the event's `ref` makes it idempotent (stored on the document). The DIAN
concepts are Resolución 000042 de 2020 (anexo técnico, tabla de conceptos de corrección de notas
crédito); Siigo's `reason` uses the same codes (docs/vendors/siigo.md §10.2). See docs/fiscal.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import IntEnum

from conexapi.sales.facts import OrderClaim, Refund

__all__ = [
    "CENT",
    "Concept",
    "CreditOutlook",
    "CreditRequest",
    "InvoicedLine",
    "IssuedCredit",
    "LineCredit",
    "next_credit",
]

ZERO = Decimal("0")
CENT = Decimal("0.01")
CANCELLED = frozenset({"cancelled", "pending_cancel"})


class Concept(IntEnum):
    """DIAN "concepto de corrección" of a credit note (Siigo `reason`)."""

    PARTIAL_RETURN = 1  # Devolución parcial de los bienes y/o no aceptación parcial del servicio
    ANNULMENT = 2  # Anulación de factura electrónica
    DISCOUNT = 3  # Rebaja o descuento parcial o total
    PRICE_ADJUSTMENT = 4  # Ajuste de precio


@dataclass(frozen=True)
class InvoicedLine:
    """One line of the issued invoice: what it billed and for which MercadoLibre order item.

    `order_id` None: the line belongs to the whole sale (shipping, or an invoice issued before
    lines knew their order)."""

    index: int
    quantity: Decimal
    total: Decimal  # Siigo's line total, IVA included
    order_id: str | None = None
    item: str | None = None  # "item_id:variation_id"


@dataclass(frozen=True)
class LineCredit:
    """What a credit note takes from one invoice line: units (0 for a money credit) and value."""

    index: int
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class IssuedCredit:
    """A credit note already issued (or in flight) against the invoice."""

    ref: str
    lines: tuple[LineCredit, ...]
    order_id: str | None = None


@dataclass(frozen=True)
class CreditRequest:
    """The next credit note to issue: per line, units and/or a target value (IVA included).

    For a units credit `amount` is None unless the units are the line's last (then it is the
    line's remaining value, centavos included); for a money credit `quantity` is 0.
    """

    ref: str
    concept: Concept
    order_id: str | None
    lines: tuple[tuple[int, Decimal, Decimal | None], ...]
    requested: Decimal  # the refund this credit answers (for the seller's breakdown)


@dataclass(frozen=True)
class CreditOutlook:
    next: CreditRequest | None
    fully_credited: bool
    covered: tuple[OrderClaim, ...] = ()  # refunds MercadoLibre covered: no credit note
    remaining: Decimal = ZERO
    notes: list[str] = field(default_factory=list)


@dataclass
class _Left:
    line: InvoicedLine
    quantity: Decimal
    amount: Decimal


def _left(lines: Sequence[InvoicedLine], issued: Iterable[IssuedCredit]) -> list[_Left]:
    left = {ln.index: _Left(ln, ln.quantity, ln.total) for ln in lines}
    for credit in issued:
        for taken in credit.lines:
            entry = left.get(taken.index)
            if entry is not None:
                entry.quantity = max(entry.quantity - taken.quantity, ZERO)
                entry.amount = max(entry.amount - taken.amount, ZERO)
    return [left[ln.index] for ln in lines]


def _tolerance(count: int) -> Decimal:
    """Siigo rounds each line to the centavo: sums may miss by up to a centavo per line."""
    return CENT * max(count, 1)


def _whole(entries: Iterable[_Left]) -> tuple[tuple[int, Decimal, Decimal | None], ...]:
    return tuple(
        (e.line.index, e.quantity, e.amount) for e in entries if e.amount > 0 or e.quantity > 0
    )


def _spread(
    entries: Sequence[_Left], amount: Decimal
) -> tuple[tuple[int, Decimal, Decimal | None], ...]:
    """`amount` over `entries` in proportion to what is left of each, never more than that;
    floored centavos, the leftover ones to the largest remainders."""
    pool = [e for e in entries if e.amount > 0]
    total = sum((e.amount for e in pool), ZERO)
    if total <= 0 or amount <= 0:
        return ()
    amount = min(amount, total)
    exact = [e.amount * amount / total for e in pool]
    shares = [
        min(x.quantize(CENT, rounding=ROUND_DOWN), e.amount)
        for x, e in zip(exact, pool, strict=True)
    ]
    leftover = int((amount - sum(shares, ZERO)) / CENT)
    for i in sorted(range(len(pool)), key=lambda i: exact[i] - shares[i], reverse=True):
        if leftover <= 0:
            break
        if shares[i] + CENT <= pool[i].amount:
            shares[i] += CENT
            leftover -= 1
    return tuple((e.line.index, ZERO, s) for e, s in zip(pool, shares, strict=True) if s > 0)


def _returned_units(claims: Sequence[OrderClaim]) -> dict[str, Decimal]:
    units: dict[str, Decimal] = {}
    for claim in claims:
        for item in claim.returned:
            key = f"{item.item_id}:{item.variation_id or ''}"
            units[key] = units.get(key, ZERO) + item.quantity
    return units


def _return_credit(
    order_id: str,
    entries: Sequence[_Left],
    claims: Sequence[OrderClaim],
    issued: Sequence[IssuedCredit],
) -> CreditRequest | None:
    returned = _returned_units(claims)
    if not returned:
        return None
    wanted: list[tuple[int, Decimal, Decimal | None]] = []
    for key, units in returned.items():
        matches = [e for e in entries if e.line.item == key] or (
            list(entries) if len(entries) == 1 else []
        )
        for entry in matches:
            credited = entry.line.quantity - entry.quantity
            take = min(units - credited, entry.quantity)
            if take <= 0:
                continue
            # The line's last units take what is left of it; so do units worth more than what is
            # left (a discount was credited on the line before they came back).
            worth = entry.line.total / entry.line.quantity * take
            last = take == entry.quantity or worth > entry.amount
            wanted.append((entry.line.index, take, entry.amount if last else None))
    if not wanted:
        return None
    total_units = sum(returned.values(), ZERO)
    ref = f"return:{order_id}:{format(total_units.normalize(), 'f')}"
    if any(c.ref == ref for c in issued):
        return None
    return CreditRequest(ref, Concept.PARTIAL_RETURN, order_id, tuple(wanted), ZERO)


def next_credit(
    lines: Sequence[InvoicedLine],
    issued: Sequence[IssuedCredit],
    refunds: Sequence[Refund],
    *,
    statuses: Mapping[str, str],
    claims: Mapping[str, Sequence[OrderClaim]] | None = None,
    money_concept: Concept = Concept.DISCOUNT,
) -> CreditOutlook:
    """The next credit note the invoice needs, if any, and whether it is fully credited.

    `refunds` are MercadoLibre's (one per refunded order, only orders on the invoice);
    `statuses` each order's status; `claims` each order's claims (fetched only for orders with a
    refund). At most one request: the caller issues it and asks again.
    """
    claims = claims or {}
    left = _left(lines, issued)
    remaining = sum((e.amount for e in left), ZERO)
    fully = remaining <= _tolerance(len(lines))
    if fully:
        return CreditOutlook(None, True, remaining=remaining)
    refunded_orders = {r.order_id: r for r in refunds if r.amount > 0}
    covered = tuple(c for oid in refunded_orders for c in claims.get(oid, ()) if c.covered)
    open_refunds = {
        oid: r
        for oid, r in refunded_orders.items()
        if not any(c.covered for c in claims.get(oid, ()))
    }
    if not open_refunds:
        return CreditOutlook(None, False, covered, remaining)
    invoiced_orders = {ln.order_id for ln in lines if ln.order_id is not None}
    everything_cancelled = bool(invoiced_orders) and all(
        statuses.get(oid) in CANCELLED and oid in open_refunds for oid in invoiced_orders
    )
    if not invoiced_orders:
        # An invoice whose lines do not know their order (issued before they did): the sale is
        # one pool; a cancelled sale is credited whole, a refund as a discount on every line.
        everything_cancelled = bool(statuses) and all(s in CANCELLED for s in statuses.values())
    if everything_cancelled and not issued:
        request = CreditRequest("annul", Concept.ANNULMENT, None, _whole(left), remaining)
        return CreditOutlook(request, False, covered, remaining)
    done = {c.ref for c in issued}
    for order_id, refund in open_refunds.items():
        mine = [e for e in left if e.line.order_id == order_id] if invoiced_orders else list(left)
        shared = [e for e in left if e.line.order_id is None] if invoiced_orders else []
        # An order-less invoice cannot credit one order's lines: only a whole cancellation is
        # credited as such there; a single cancelled order is credited as money.
        if statuses.get(order_id) in CANCELLED and (invoiced_orders or everything_cancelled):
            ref = f"cancel:{order_id}"
            if ref in done:
                continue
            targets = mine + (shared if everything_cancelled else [])
            if not _whole(targets):
                continue
            return CreditOutlook(
                CreditRequest(
                    ref, Concept.PARTIAL_RETURN, order_id, _whole(targets), refund.amount
                ),
                False,
                covered,
                remaining,
            )
        order_claims = claims.get(order_id, ())
        returned = _return_credit(order_id, mine, order_claims, issued)
        if returned is not None:
            return CreditOutlook(returned, False, covered, remaining)
        if any(c.return_pending for c in order_claims):
            continue  # goods on their way back: credited as a return once refunded
        credited = sum((t.amount for c in issued if c.order_id == order_id for t in c.lines), ZERO)
        if invoiced_orders:
            due = refund.amount - credited
        else:
            due = refund.amount - sum((t.amount for c in issued for t in c.lines), ZERO)
        ref = f"money:{order_id}:{format(refund.amount.normalize(), 'f')}"
        if due <= _tolerance(len(mine)) or ref in done:
            continue
        spread = _spread(mine, due)
        spill = due - sum((a or ZERO for _, _, a in spread), ZERO)
        if spill > _tolerance(len(mine)) and shared:
            spread += _spread(shared, spill)
        if spread:
            return CreditOutlook(
                CreditRequest(ref, money_concept, order_id, spread, due), False, covered, remaining
            )
    return CreditOutlook(None, False, covered, remaining)
