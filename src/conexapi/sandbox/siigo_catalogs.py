"""Default Siigo company catalogs (ids of the examples in docs/vendors/siigo.md §9.2, §10.3)."""

from __future__ import annotations

from typing import Any

from conexapi.sandbox import constants as c


def _doc_type(
    id_: int,
    code: int,
    name: str,
    type_: str,
    active: bool,
    electronic: str | None,
    **over: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": id_,
        "code": str(code),  # a string in the portal and the blueprint (docs/vendors/siigo.md §16)
        "name": name,
        "description": name,
        "type": type_,
        "active": active,
        "seller_by_item": False,
        "cost_center": False,
        "cost_center_mandatory": False,
        "cost_center_default": None,
        "automatic_number": True,
        "consecutive": 1,
        "discount_type": "Value",
        "decimals": True,
        "advance_payment": False,
        "reteiva": False,
        "reteica": False,
        "self_withholding": False,
        "self_withholding_limit": 0,
        "electronic_type": electronic,
        "cargo_transportation": False,
        "healthcare_company": False,
        "customer_by_item": False,
        "prefix": type_,
        "global_discounts": [],
        "global_charges": [],
    } | over
    if electronic is None:
        # NC types carry no `electronic_type` (blueprint `DocumentTypeNC`, portal example): they
        # are electronic when the company invoices electronically (`Company.is_electronic`).
        for key in ("electronic_type", "seller_by_item", "discount_type", "decimals"):
            doc.pop(key)
        for key in ("advance_payment", "reteiva", "reteica", "self_withholding"):
            doc.pop(key)
        doc.pop("self_withholding_limit")
        doc.pop("cargo_transportation")
        doc.pop("healthcare_company")
    return doc


def default_document_types() -> dict[int, dict[str, Any]]:
    docs = [
        _doc_type(
            c.FV_ELECTRONIC_ID, 1, "Factura electrónica de venta", "FV", True, "ElectronicInvoice"
        ),
        _doc_type(
            c.FV_INACTIVE_ID, 2, "Factura electrónica anterior", "FV", False, "ElectronicInvoice"
        ),
        _doc_type(c.FV_NON_ELECTRONIC_ID, 3, "Factura de venta POS", "FV", True, "NoElectronic"),
        _doc_type(
            c.FV_MANUAL_NUMBER_ID,
            4,
            "Factura numeración manual",
            "FV",
            True,
            "ElectronicInvoice",
            automatic_number=False,
        ),
        _doc_type(
            c.FV_SELLER_BY_ITEM_ID,
            5,
            "Factura vendedor por ítem",
            "FV",
            True,
            "ElectronicInvoice",
            seller_by_item=True,
        ),
        _doc_type(
            c.FV_NO_DECIMALS_ID,
            6,
            "Factura sin decimales",
            "FV",
            True,
            "ElectronicInvoice",
            decimals=False,
        ),
        _doc_type(
            c.FV_COST_CENTER_ID,
            7,
            "Factura con centro de costo",
            "FV",
            True,
            "ElectronicInvoice",
            cost_center=True,
            cost_center_mandatory=True,
        ),
        _doc_type(c.NC_ELECTRONIC_ID, 2, "Nota crédito electrónica", "NC", True, None),
    ]
    return {d["id"]: d for d in docs}


def default_taxes() -> dict[int, dict[str, Any]]:
    taxes = [
        (c.TAX_IVA19_ID, "IVA 19%", "IVA", 19),
        (c.TAX_IVA5_ID, "IVA 5%", "IVA", 5),
        (c.TAX_IVA0_ID, "IVA 0%", "IVA", 0),
        (c.TAX_EXCLUDED_ID, "IVA Excluido", "IVA", 0),
        (c.TAX_RETEFUENTE_ID, "Retefuente 2.5%", "Retefuente", 2.5),
        (c.TAX_IMPOCONSUMO_ID, "Impoconsumo 8%", "Impoconsumo", 8),
    ]
    return {
        t[0]: {"id": t[0], "name": t[1], "type": t[2], "percentage": t[3], "active": True}
        for t in taxes
    }


def default_payment_types() -> dict[int, dict[str, Any]]:
    rows = [
        (c.PAYMENT_MERCADOPAGO_ID, "MercadoPago", "FV", True, False),
        (c.PAYMENT_CREDIT_ID, "Crédito", "FV", True, True),
        (c.PAYMENT_INACTIVE_ID, "Efectivo", "FV", False, False),
        (c.PAYMENT_NC_ID, "MercadoPago", "NC", True, False),
    ]
    return {
        r[0]: {
            "id": r[0],
            "name": r[1],
            "type": "Cartera",
            "document_type": r[2],
            "active": r[3],
            "due_date": r[4],
        }
        for r in rows
    }


def default_users() -> dict[int, dict[str, Any]]:
    return {
        c.SELLER_USER_ID: {
            "id": c.SELLER_USER_ID,
            "username": "vendedor@conexapi.dev",
            "first_name": "Vendedor",
            "last_name": "Principal",
            "email": "vendedor@conexapi.dev",
            "active": True,
            "identification": "1020304050",
        },
        c.SELLER_USER_INACTIVE_ID: {
            "id": c.SELLER_USER_INACTIVE_ID,
            "username": "antiguo@conexapi.dev",
            "first_name": "Vendedor",
            "last_name": "Retirado",
            "email": "antiguo@conexapi.dev",
            "active": False,
            "identification": "1020304051",
        },
    }


def default_cost_centers() -> list[dict[str, Any]]:
    return [{"id": c.COST_CENTER_ID, "code": "1", "name": "Principal", "active": True}]


def default_account_groups() -> list[dict[str, Any]]:
    return [
        {"id": c.ACCOUNT_GROUP_ID, "name": "Productos", "active": True},
        {"id": c.ACCOUNT_GROUP_ID + 1, "name": "Servicios", "active": True},
        {"id": c.ACCOUNT_GROUP_ID + 2, "name": "Grupo antiguo", "active": False},
    ]


ID_TYPES: dict[str, str] = {
    "13": "Cédula de ciudadanía",
    "31": "NIT",
    "22": "Cédula de extranjería",
    "42": "Documento de identificación extranjero",
    "50": "NIT de otro país",
    "41": "Pasaporte",
    "47": "Permiso especial de permanencia (PEP)",
    "48": "Permiso protección temporal (PPT)",
    "11": "Registro civil",
    "12": "Tarjeta de identidad",
    "21": "Tarjeta de extranjería",
    "91": "NUIP",
    "43": "Sin identificación del exterior",
    "89": "Salvoconducto de permanencia",
    "R-00-PN": "No obligado a registrarse en el RUT PN",
}
NUMERIC_ID_TYPES = frozenset({"13", "31", "11"})
