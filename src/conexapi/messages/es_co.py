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
    "erp_code_not_found": "No existe en Siigo un producto con ese código.",
    "erp_code_inactive": "Ese producto está inactivo en Siigo: actívelo o elija otro.",
    "product_creation_disabled": "La integración no crea productos en Siigo. Active «Permitir "
    "crear en Siigo los productos que falten» en Integración, o cree el producto en Siigo.",
    "invalid_tax": "Ese impuesto no existe o está inactivo en Siigo.",
    "no_account_group": "La empresa en Siigo no tiene un grupo de inventario activo donde crear "
    "el producto.",
    "job_not_found": "No encontramos esa tarea.",
    "invalid_credentials": "Correo o contraseña incorrectos.",
    "insufficient_role": "Su rol no permite esta acción.",
    "user_exists": "Ya existe un usuario con ese correo.",
    # -- vendors ----------------------------------------------------------------------------------
    "vendor.failed": "{vendor} no respondió como se esperaba ({status}). "
    "Intente de nuevo en unos minutos.",
    # -- the sync engine (a sale's timeline and error) --------------------------------------------
    "sync.recheck_deferred": "No se pudo revisar la venta ahora ({reason}); se revisará de nuevo.",
    "sync.credit_note_waits_dian": "Hay una devolución: la nota crédito espera a que la DIAN "
    "acepte la factura.",
    "sync.waiting_permission": "La aplicación de MercadoLibre no tiene el permiso funcional "
    "«{permission}»: la venta espera, sin gastar intentos, y se procesará sola en cuanto el "
    "permiso funcione.",
    "sync.waiting_reauth": "La conexión con {vendor} necesita volver a autorizarse; la venta "
    "sigue en cola y se procesará al reconectar.",
    "sync.unmapped_products": "Producto sin equivalente activo en Siigo: {names}. Asócielo a un "
    "producto de Siigo en Productos por asociar (ConexAPI le propone los parecidos), o cree o "
    "active el producto en Siigo: la venta se reintenta sola al guardar la asociación.",
    "sync.retry_after_mapping": "Se guardó la asociación de sus productos con Siigo: la venta "
    "se reintenta sola.",
    # -- products Siigo can't take (Productos por asociar) ---------------------------------------
    "nav.integration": "Integración",
    "products.title": "Productos por asociar",
    "products.intro": "Estos SKU de MercadoLibre no tienen un producto activo en Siigo (Siigo no "
    "acepta códigos con espacios, comillas o más de 30 caracteres). Elija el producto de Siigo "
    "de cada uno: ConexAPI le propone los que coinciden. Al guardar, todas las ventas que los "
    "esperan se reintentan solas.",
    "products.no_integration": "Primero conecte MercadoLibre y Siigo y cree la integración.",
    "products.empty": "Ninguna venta espera por productos: todos los SKU tienen su producto en "
    "Siigo.",
    "products.waiting": "{skus} SKU sin producto en Siigo · {sales} ventas esperando",
    "products.col_sku": "SKU y publicación",
    "products.col_sales": "Ventas esperando",
    "products.col_choice": "Producto de Siigo",
    "products.not_a_code": "Siigo no acepta este SKU como código.",
    "products.current": "Asociado hoy a {code}, que no sirve en Siigo.",
    "products.choose_for": "Producto de Siigo para {sku}",
    "products.no_proposal": "Ningún producto de Siigo se parece: escriba el código o cree el "
    "producto.",
    "products.skip": "No asociar por ahora",
    "products.other_code": "U otro código de Siigo",
    "products.map_button": "Asociar los elegidos y reintentar las ventas",
    "products.match_exact_code": "mismo código",
    "products.match_clean_code": "código sin espacios ni comillas",
    "products.match_reference": "referencia igual al SKU",
    "products.match_barcode": "código de barras igual al SKU",
    "products.match_similar_name": "nombre parecido",
    "products.create_title": "Crear en Siigo el producto que falta",
    "products.create_intro": "ConexAPI crea el producto con un código que Siigo acepta, el "
    "título de la publicación y el impuesto que usted elija, y lo asocia al SKU.",
    "products.tax": "Impuesto",
    "products.create_button": "Crear y asociar",
    "products.none_chosen": "No eligió ningún producto para asociar.",
    "products.refused": "No se asoció {sku} a {code}:",
    "products.mapped": "SKU {sku} → {code} guardado. Ventas que se reintentan: {sales}.",
    "products.mapped_many": "{skus} SKU asociados; {sales} ventas se reintentan ahora.",
    "products.mapped_sale": "Asociado {names}. La venta {sale} se reintenta ahora.",
    "products.created": "Producto {code} «{name}» creado en Siigo y asociado a {sku}. Ventas "
    "que se reintentan: {sales}.",
    # -- sales ----------------------------------------------------------------------------------
    "sale.buyer_unnamed": "Comprador {id}",
    # -- connections ----------------------------------------------------------------------------
    "permission.billing": "Facturación",
    "permission.orders": "Ventas y envíos",
    "permission.unknown": "requerido",
    "connection.needs_permission": "Falta el permiso «{permission}» en la aplicación de "
    "MercadoLibre",
    "connection.permission_how": "Quien administra la aplicación de MercadoLibre debe entrar a "
    "DevCenter (developers.mercadolibre.com.co → Mis aplicaciones), abrir la aplicación, ir a "
    "Permisos funcionales y activar «{permission}». No hace falta volver a autorizar la cuenta: "
    "ConexAPI lo comprueba solo cada pocos minutos y reanuda las ventas.",
    "alert.needs_permission": "A la aplicación de MercadoLibre le falta el permiso «{permission}» "
    "para la cuenta {account}: las ventas esperan sin perderse. Quien administra la aplicación "
    "debe activarlo en DevCenter → la aplicación → Permisos funcionales → {permission}.",
    # -- Siigo documents -------------------------------------------------------------------------
    "invoice.rounding_deviation": "El total en Siigo ({total}) difiere en {deviation} del valor "
    "de MercadoLibre por el redondeo de Siigo (precio no alcanzable con IVA).",
}
