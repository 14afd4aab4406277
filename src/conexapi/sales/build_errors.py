"""Why a sale cannot become a Siigo document yet: `BuildError` and its subclasses.

Each error has a stable `code` (shown in the API as `error.code`) and a Spanish `message` that
says how to fix it. Raised by the invoice and credit-note builders.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from conexapi.messages import text

__all__ = [
    "MAX_ITEMS",
    "BuildError",
    "EmptySale",
    "InvalidAmount",
    "InvalidProductCode",
    "InvalidRefund",
    "MissingSettings",
    "TooManyItems",
    "UnmappedProducts",
    "UnsupportedTax",
]

MAX_ITEMS = 500  # Siigo: at most 500 items per FV/NC (docs/vendors/siigo.md §4.3 invalid_array)

# --- errors ---------------------------------------------------------------------------------

_SETTING_LABELS: dict[str, str] = {
    "fv_document_id": "el tipo de documento de factura de venta (FV)",
    "nc_document_id": "el tipo de documento de nota crédito (NC)",
    "seller_id": "el vendedor de Siigo",
    "payment_type_id": "la forma de pago de las facturas",
    "nc_payment_type_id": "la forma de pago de las notas crédito",
    "iva_tax_id": "el IVA para productos sin impuesto en Siigo",
    "shipping_tax_id": "el impuesto del envío",
    "shipping_product_code": "el producto de Siigo para el envío",
}


class BuildError(Exception):
    """A sale that cannot become a Siigo document until someone fixes data or settings.

    `code` is stable (shown in the API as `error.code`); `message` is Spanish and says how to
    fix it.
    """

    code = "build_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MissingSettings(BuildError):
    code = "missing_settings"

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        labels = [f"{_SETTING_LABELS.get(n, n)} ({n})" for n in self.names]
        super().__init__(
            f"Falta configurar {_join_es(labels)} en la integración. Complételo en "
            "Configuración de la integración y reintente la venta.",
            details={"settings": self.names},
        )


class UnmappedProducts(BuildError):
    code = "unmapped_products"

    def __init__(self, skus: Sequence[str]) -> None:
        self.skus = list(skus)
        if len(self.skus) == 1:
            message = (
                f"El SKU {self.skus[0]} no está asociado a un producto de Siigo. Asócielo en "
                "Productos o cree el producto con ese código en Siigo."
            )
        else:
            message = (
                f"Los SKU {_join_es(self.skus)} no están asociados a productos de Siigo. "
                "Asócielos en Productos o cree los productos con esos códigos en Siigo."
            )
        super().__init__(message, details={"skus": self.skus})


class InvalidProductCode(BuildError):
    code = "invalid_product_code"

    def __init__(self, sku: str, product_code: str) -> None:
        super().__init__(
            f"El código de producto de Siigo '{product_code}' asociado al SKU {sku} no es "
            "válido (máximo 30 caracteres, sin espacios ni comillas). Corrija la asociación "
            "en Productos.",
            details={"sku": sku, "code": product_code},
        )


class EmptySale(BuildError):
    code = "empty_sale"

    def __init__(self) -> None:
        super().__init__("La venta no tiene productos para facturar.")


class InvalidAmount(BuildError):
    code = "invalid_amount"

    def __init__(self, what: str, amount: Decimal) -> None:
        super().__init__(
            f"El valor de {what} es {amount}: Siigo solo acepta valores positivos. Revise los "
            "descuentos de la venta en MercadoLibre.",
            details={"what": what, "amount": str(amount)},
        )


class TooManyItems(BuildError):
    code = "too_many_items"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"La venta tiene {count} líneas y Siigo admite máximo {MAX_ITEMS} por documento.",
            details={"count": count},
        )


class UnsupportedTax(BuildError):
    """A product whose taxes ConexAPI cannot reproduce exactly: better wait than invoice wrong."""

    code = "unsupported_product_tax"

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(
            text("build.unsupported_tax", code=code, reason=reason),
            details={"code": code, "reason": reason},
        )


class InvalidRefund(BuildError):
    code = "invalid_refund"

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _join_es(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} y {parts[-1]}"
