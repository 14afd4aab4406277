"""What a person can fix in one click for a sale that needs attention."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from conexapi.operations.schemas import EventRead

SETTING_LABELS: dict[str, str] = {
    "fv_document_id": "Tipo de documento de factura (FV)",
    "nc_document_id": "Tipo de documento de nota crédito (NC)",
    "seller_id": "Vendedor de Siigo",
    "payment_type_id": "Forma de pago de las facturas",
    "nc_payment_type_id": "Forma de pago de las notas crédito",
    "iva_tax_id": "IVA para productos sin impuesto en Siigo",
    "shipping_tax": "Impuesto del envío",
    "shipping_tax_id": "Impuesto fijo del envío",
    "meli_coupon_invoicing": "Cupones pagados por MercadoLibre",
    "money_refund_reason": "Concepto DIAN de un reembolso sin devolución",
    "data_wait_hours": "Horas de espera por datos de MercadoLibre",
    "fallback_email": "Correo de facturación de su empresa (compradores sin correo)",
    "cost_center_id": "Centro de costo",
    "shipping_product_code": "Producto de Siigo para el envío",
    "invoice_trigger": "Facturar cuando la venta esté",
    "stamp": "Enviar a la DIAN",
    "send_email": "Enviar la factura por correo al comprador",
    "prices_include_iva": "Los precios de MercadoLibre incluyen IVA",
    "credit_notes_auto": "Notas crédito automáticas",
    "upload_invoice_to_marketplace": "Subir la factura a MercadoLibre",
    "create_missing_products": "Permitir crear en Siigo los productos que falten",
    "consumer_fallback": "Facturar a consumidor final (222222222222) al comprador sin datos "
    "de facturación",
}


# A buyer without (usable) fiscal data: the seller picks "consumidor final" or types a CC/NIT.
BUYER_CODES = frozenset({"missing_fiscal_data", "invalid_buyer_identification"})
# Errors whose fix names what is missing (the SKUs, the settings), read from the timeline.
FROM_TIMELINE = frozenset({"unmapped_products", "missing_settings"})


@dataclass
class Fix:
    code: str
    skus: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return []
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return []


def fix_for(
    code: str | None, timeline: list[EventRead], facts: dict[str, Any] | None = None
) -> Fix | None:
    """The fix for the sale's current error, from the latest event that explains it."""
    if code in BUYER_CODES:
        return Fix(code="buyer")
    if code not in FROM_TIMELINE:
        return None
    key = "skus" if code == "unmapped_products" else "settings"
    values: list[str] = []
    for event in reversed(timeline):
        data = event.data or {}
        values = _as_list(data.get(key)) or _as_list((data.get("details") or {}).get(key))
        if values:
            break
    if not values and code == "unmapped_products" and facts:
        values = [str(line["sku"]) for line in facts.get("lines", []) if line.get("sku")]
    if code == "unmapped_products":
        return Fix(code=code, skus=list(dict.fromkeys(values)))
    return Fix(code=code, settings=list(dict.fromkeys(values)))
