"""Every text a seller reads, in Spanish (Colombia), addressing the seller as "usted".

Keys: an API error's `code` as is; other texts are "area.what" (e.g. "sync.recheck_deferred").
Placeholders are `str.format` fields, filled with values already formatted for es-CO.
"""

from __future__ import annotations

CATALOGUE: dict[str, str] = {
    # -- API errors shown in pages (keyed by AppError.code) -------------------------------------
    "invalid_sku": "El SKU debe tener entre 1 y 120 caracteres.",
    "invalid_erp_code": "Los códigos de producto de Siigo tienen máximo 30 caracteres, sin "
    "espacios ni comillas.",
    "sale_not_found": "No encontramos esa venta.",
    "sale_not_retryable": "Solo se reintentan a mano las ventas que requieren atención, "
    "están reintentando o fallaron.",
    "integration_not_found": "No encontramos esa integración.",
    "integration_exists": "Esta cuenta de MercadoLibre ya tiene una integración.",
    "integration_inactive": "La integración está en pausa.",
    "connection_not_found": "No encontramos esa conexión.",
    "connection_taken": "Esta cuenta ya está conectada a otra cuenta de ConexAPI.",
    "siigo_invalid_credentials": "Siigo no aceptó el usuario API y la clave de acceso. "
    "Revíselos en Siigo Nube (Alianzas → Mi credencial API) e intente de nuevo.",
    "mapping_not_found": "No existe una asociación para ese SKU.",
    "job_not_found": "No encontramos esa tarea.",
    "invalid_credentials": "Correo o contraseña incorrectos.",
    "insufficient_role": "Su rol no permite esta acción.",
    "user_exists": "Ya existe un usuario con ese correo.",
    # -- dashboard actions ------------------------------------------------------------------------
    "web.correction_queued": "Corrección en cola: se emitirá la nota crédito que anula la "
    "factura y luego la factura corregida, una sola vez.",
    "web.review_queued": "{count} factura(s) en cola para revisar con los productos de Siigo de "
    "hoy; el resultado aparece aquí en unos segundos.",
    # -- vendors ----------------------------------------------------------------------------------
    "vendor.failed": "{vendor} no respondió como se esperaba ({status}). "
    "Intente de nuevo en unos minutos.",
    # -- the sync engine (a sale's timeline and error) --------------------------------------------
    "sync.recheck_deferred": "No se pudo revisar la venta ahora ({reason}); se revisará de nuevo.",
    "sync.credit_note_waits_dian": "Hay una devolución: la nota crédito espera a que la DIAN "
    "acepte la factura.",
    "sync.billing_processing": "MercadoLibre todavía está procesando los datos de facturación "
    "del comprador; la venta espera a que estén listos (hasta {hours} h después del pago) y se "
    "revisa de nuevo sola.",
    "sync.billing_processing_expired": "Los datos de facturación del comprador no llegaron en "
    "{hours} h: se factura al consumidor final.",
    "sync.shipping_unknown": "MercadoLibre todavía no informa cuánto pagó el comprador por el "
    "envío; la venta espera para no dejar fuera una línea que el comprador pagó y se revisa de "
    "nuevo sola.",
    "sync.shipping_unknown_late": "MercadoLibre no informó cuánto pagó el comprador por el "
    "envío: revise el envío de la venta en MercadoLibre y reintente; no se factura sin esa línea.",
    "sync.consumer_fallback": "El comprador no dio datos de facturación: la factura va al "
    "consumidor final ({identification}).",
    "sync.consumer_fallback_processing": "Los datos de facturación del comprador seguían en "
    "proceso después de {hours} h: la factura va al consumidor final ({identification}).",
    "sync.invalid_buyer": "Los datos fiscales del comprador no sirven para Siigo: {error}. Pida al "
    "comprador corregir sus datos de facturación en MercadoLibre y reintente, o emita la factura "
    "a mano en Siigo.",
    "sync.missing_fiscal_data": "El comprador no dio datos de facturación y no hay consumidor "
    "final configurado. Configure el consumidor final en la integración y reintente.",
    "sync.credited": "Venta anulada: las notas crédito cubren toda la factura.",
    "sync.credit_note_manual": "MercadoLibre devolvió $ {amount} al comprador y las notas "
    "crédito automáticas están desactivadas: emita la nota crédito en Siigo, o actívelas y "
    "reintente.",
    "sync.refund_covered": "MercadoLibre cubrió el reembolso con su protección al comprador "
    "(reclamo {claims}): usted conserva el dinero de la venta, la factura sigue vigente y no se "
    "emite nota crédito.",
    "sync.correction_waits_dian": "La corrección de la factura espera a que la DIAN la acepte.",
    "sync.correction_annulled": "Factura {invoice} anulada con la nota crédito {note}; sigue la "
    "factura corregida.",
    "sync.corrected": "Factura {old} corregida: anulada con nota crédito y reemplazada por la "
    "factura {new}.",
    "sync.correction_requested": "{user} pidió corregir la factura {invoice}: se anula con nota "
    "crédito y se emite la factura corregida.",
    "not_correctable": "Solo se corrige la factura de una venta facturada.",
    "nothing_to_correct": "La factura no tiene diferencias que corregir con las reglas de hoy.",
    "correction_has_credit_notes": "La factura ya tiene notas crédito: corríjala en Siigo Nube.",
    "credit.concept_1": "Devolución parcial de los bienes",
    "credit.concept_2": "Anulación de la factura electrónica",
    "credit.concept_3": "Rebaja o descuento",
    "credit.concept_4": "Ajuste de precio",
    # -- Siigo documents -------------------------------------------------------------------------
    "invoice.rounding_deviation": "El total en Siigo ({total}) difiere en {deviation} del valor "
    "de MercadoLibre por el redondeo de Siigo (precio no alcanzable con IVA).",
    "database_unavailable": "ConexAPI se está reconectando con su base de datos; no se perdió "
    "nada. Intente de nuevo en unos segundos.",
    "invoice.difference_meli_coupon": "La factura incluye {amount} del cupón que pagó "
    'MercadoLibre por el comprador: es parte del precio de venta (configuración "cupones de '
    'MercadoLibre como parte del precio").',
    "invoice.shipping_tax_principal": "El envío lleva {label}, el impuesto del producto "
    "principal de la venta ({product}, {amount}): el transporte sigue al bien que lleva "
    "(E.T. art. 447).",
    "invoice.shipping_tax_fixed": "El envío lleva {label}, el impuesto elegido en la "
    "configuración de la integración.",
    "invoice.shipping_tax_fixed_none": "El envío va sin impuesto (excluido), como se eligió en "
    "la configuración de la integración.",
    # -- why a document cannot be built ----------------------------------------------------------
    "build.unsupported_tax": "El producto {code} de Siigo tiene impuestos que ConexAPI no puede "
    "facturar con exactitud: {reason}. Revise los impuestos del producto en Siigo (un solo IVA, o "
    "clasificación Excluido o Exento) y reintente la venta; mientras tanto la venta no se factura.",
}
