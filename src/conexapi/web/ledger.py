"""A sale's money as its documents tell it: what was invoiced, what credit notes gave back, and
whether the sale ended annulled (credit notes for the whole invoice)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from conexapi.operations.schemas import DocumentRead, SaleDetail
from conexapi.sales.states import DocumentStatus

ZERO = Decimal("0")
TOLERANCE = Decimal("1")  # pesos: Siigo rounds documents to the peso


@dataclass(frozen=True)
class Ledger:
    invoiced: Decimal | None  # the current invoice's total
    returned: Decimal  # the issued credit notes' totals
    notes: int

    @property
    def annulled(self) -> bool:
        return self.invoiced is not None and self.returned >= self.invoiced - TOLERANCE > ZERO

    @property
    def partial(self) -> bool:
        return self.returned > ZERO and not self.annulled


def ledger(sale: SaleDetail, invoice: DocumentRead | None, notes: Sequence[DocumentRead]) -> Ledger:
    issued = [n for n in notes if n.status == DocumentStatus.ISSUED.value]
    returned = sum((n.total or ZERO for n in issued), ZERO)
    # A refund MercadoLibre reports that no note reflects yet still counts as returned money.
    recorded = Decimal(str(sale.profit.get("devuelto") or "0")) if sale.profit else ZERO
    return Ledger(
        invoiced=invoice.total if invoice else None,
        returned=max(returned, recorded),
        notes=len(issued),
    )
