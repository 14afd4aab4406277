"""Seller texts of the per-sale fixes, "facturada por fuera" and Vista previa (merged into the
one catalogue, `es_co.CATALOGUE`)."""

from __future__ import annotations

SELLER_FIXES: dict[str, str] = {
    # The fix is on the sale now (it overrides the older wording in `es_co`).
    "sync.missing_fiscal_data": "El comprador no dio datos de facturación. En la venta, elija "
    "«Facturar a consumidor final» o ingrese su CC/NIT; para todas las ventas así, active el "
    "consumidor final en Integración.",
    # -- facturada por fuera / no facturar -----------------------------------------------------
    "manual.elsewhere_state": "Facturada por fuera (marcada por {user}): {reason}. ConexAPI no "
    "emite documentos para esta venta.",
    "manual.elsewhere_no_reason": "sin motivo indicado",
    "manual.elsewhere_event": "{user} la marcó como facturada por fuera / no facturar: {reason}.",
    "manual.elsewhere_refunded": "MercadoLibre devolvió {amount} de esta venta que usted facturó "
    "por fuera. ConexAPI no emite notas crédito de facturas que no emitió: haga la nota crédito "
    "en Siigo Nube y marque la devolución como atendida.",
    "manual.unmarked": "{user} quitó la marca de facturada por fuera: la venta se procesa de "
    "nuevo.",
    "manual.refund_acknowledged": "{user} indicó que atendió la devolución (nota crédito hecha "
    "por fuera).",
    "manual.marked": "{count} venta(s) marcada(s) como facturadas por fuera.",
    "manual.bulk_confirm": "Se marcarán {count} venta(s) del {date_from} al {date_to} como "
    "facturadas por fuera. ConexAPI no emitirá documentos para ellas.",
    "manual.bulk_none": "No hay ventas sin facturar en ese rango.",
    "manual.buyer_consumer_final": "consumidor final",
    "manual.buyer_set": "{user} indicó facturar a {buyer}; la venta se reintenta.",
    "invoiced_elsewhere": "Facturada por fuera.",
    "invoiced_elsewhere_refunded": "Devolución de una venta facturada por fuera.",
    "count_changed": "El número de ventas cambió mientras confirmaba: revise el nuevo número y "
    "confirme de nuevo.",
    "invalid_selection": "Elija ventas o un rango de fechas.",
    "sale_not_waiting_for_fix": "Esta venta no está esperando una corrección.",
    "not_marked": "La venta no está marcada como facturada por fuera.",
    "refunded_elsewhere": "MercadoLibre ya devolvió el dinero de esta venta: no se puede facturar.",
    "no_refund_to_acknowledge": "La venta no tiene una devolución pendiente.",
    "sale_not_markable": "Solo se marca una venta sin documentos en Siigo que no esté marcada ya.",
    "sale_has_document": "La venta ya tiene un documento en Siigo.",
    "invalid_identification": "La identificación no es válida: revise el tipo y el número (en "
    "un NIT, el dígito de verificación).",
    "invalid_buyer_name": "Escriba el nombre o la razón social del comprador.",
    "alert.refunded_elsewhere": "{count} venta(s) que usted facturó por fuera tuvieron una "
    "devolución en MercadoLibre: haga la nota crédito en Siigo Nube.",
    "web.buyer_saved": "Venta {sale}: comprador guardado; se reintenta en unos segundos.",
    "web.unmarked": "Marca quitada: la venta se procesa de nuevo.",
    "web.refund_acknowledged": "Devolución marcada como atendida.",
    "web.bulk_retried": "{count} venta(s) en cola para reintentar.",
    "web.map_code_required": "Elija el producto de Siigo para el SKU.",
    "web.sku_group_mapped": "SKU {sku} asociado a {code} en Siigo: {count} venta(s) en cola "
    "para reintentar.",
    "web.confirm_retry": "Se reintentarán {count} venta(s) del filtro actual.",
    "web.confirm_consumer": "Se facturarán a consumidor final {count} venta(s) cuyo comprador "
    "no dio datos de facturación.",
    "web.bulk_consumer": "{count} venta(s) se facturan a consumidor final; se reintentan en "
    "unos segundos.",
    "web.confirm_nothing": "No hay ventas para esta acción.",
    "cause.unmapped_products": "Producto sin asociar a Siigo",
    "cause.missing_settings": "Falta configuración",
    "cause.missing_fiscal_data": "Comprador sin datos de facturación",
    "cause.invalid_buyer_identification": "Identificación del comprador no válida",
    "cause.dian_rejected": "Rechazada por la DIAN",
    "cause.siigo_parameter_inactive": "Producto o dato inactivo en Siigo",
    "cause.unsupported_product_tax": "Impuesto del producto no soportado",
    "cause.other": "Otra causa",
    # -- vista previa --------------------------------------------------------------------------
    "preview": "Vista previa: la factura está lista, pero no se envía a Siigo.",
    "preview.built": "Vista previa: factura armada por {total}; no se envió a Siigo.",
    "preview.live_invoice": "{user} pasó la integración a facturación real: esta venta (desde "
    "el {day}) se factura ahora.",
    "preview.live_skipped": "{user} pasó la integración a facturación real desde el {day}: esta "
    "venta es anterior y no se factura.",
    "preview.started": "Vista previa activada: ConexAPI arma las facturas y no envía nada a Siigo.",
    "preview.went_live": "Facturación real activada: {invoiced} venta(s) se facturan ahora y "
    "{skipped} anterior(es) al {day} no se facturan.",
    "preview.invalid_date": "Elija una fecha válida, hoy o anterior, desde la que se facturan "
    "las ventas.",
    "preview_after_documents": "Esta integración ya emitió documentos en Siigo: la vista previa "
    "es para empezar, antes de la primera factura.",
    "preview.banner": "Vista previa: ConexAPI arma cada factura y le muestra lo que enviaría a "
    "Siigo, sin enviarla.",
}
