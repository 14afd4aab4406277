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
    "invalid_date": "Fecha no válida: elíjala en el calendario (día/mes/año).",
    "invalid_date_range": "La fecha «Desde» es posterior a «Hasta», o el rango pasa de un año. "
    "Corrija las fechas.",
    "invalid_state": "Ese estado de venta no existe.",
    "csv_empty": "El archivo está vacío: la primera línea debe ser el encabezado sku,erp_code.",
    "csv_missing_columns": "La primera línea del archivo debe ser el encabezado sku,erp_code "
    "(separado por coma o punto y coma). Corríjalo y vuelva a subirlo.",
    "file_too_large": "El archivo supera 2 MB.",
    # -- CSV import: why a line was rejected ------------------------------------------------------
    "csv.missing_columns": "faltan columnas",
    "csv.empty_sku": "el SKU está vacío",
    "csv.sku_too_long": "el SKU tiene más de 120 caracteres",
    "csv.invalid_code": "código no válido (de 1 a 30 caracteres, sin espacios ni comillas)",
    "csv.duplicate_sku": "SKU repetido en el archivo (aparece antes en la línea {line})",
    "csv.not_found": "no existe en Siigo",
    "csv.inactive": "está inactivo en Siigo",
    # -- why a setting is proposed (Integración, "Propuesto: …") ----------------------------------
    "proposal.fv": "«{name}»: tipo de factura electrónica de venta activo ({kind}){extra}",
    "proposal.first_of_resolution": " (el primero de {n}; revise la resolución de numeración)",
    "proposal.first_of": " (el primero de {n}; revise que sea el correcto)",
    "proposal.first_of_users": " (el primero de {n} usuarios activos)",
    "proposal.cost_center": "«{name}»: el tipo de factura exige centro de costo; es el primero "
    "activo",
    "proposal.nc_plain": "«{name}»: tipo de nota crédito activo, para facturas no "
    "electrónicas{extra}",
    "proposal.nc_unknown": "«{name}»: tipo de nota crédito activo; Siigo no dice si sus notas "
    "crédito son electrónicas y su empresa factura electrónicamente, así que lo son{extra}",
    "proposal.nc_electronic": "«{name}»: tipo de nota crédito electrónica activo ({kind}){extra}",
    "proposal.seller": "«{name}»: usuario activo de Siigo{extra}",
    "proposal.payment_named": "«{name}»: forma de pago {kind} activa y sin vencimiento, con "
    "nombre parecido a «{wanted}»",
    "proposal.payment_first": "«{name}»: la primera de {n} formas de pago {kind} activas sin "
    "vencimiento (revise que sea la de las ventas de MercadoLibre)",
    "proposal.iva": "«{name}»: el IVA del 19 % activo, para los productos que no tienen impuesto "
    "en Siigo (el impuesto propio del producto siempre manda)",
    "proposal.shipping_tax": "el envío lleva el IVA del bien principal del carrito: el transporte "
    "sigue al bien que lleva (Estatuto Tributario, art. 447); un carrito todo excluido lleva el "
    "envío excluido",
    "proposal.fallback_email": "el correo del usuario API de Siigo de su empresa: a los "
    "compradores sin correo no se les inventa uno; cámbielo por su correo de facturación si es "
    "otro",
    "proposal.consumer_fallback": "a los compradores que no dan datos fiscales a MercadoLibre se "
    "les factura al «consumidor final» genérico de la DIAN (222222222222); desactívelo para "
    "decidir venta por venta",
    "proposal.upload_invoice": "desactivado hasta que usted lo elija: al activarlo, el PDF de la "
    "factura aceptada por la DIAN se adjunta a la venta de MercadoLibre, una sola vez",
    "proposal.stamp": "una factura electrónica solo cuenta cuando se envía a la DIAN; Siigo la "
    "envía al crearla",
    "proposal.invoice_trigger": "se factura cuando MercadoLibre informa la venta como pagada: el "
    "dinero del comprador ya está",
    "proposal.meli_coupon": "la parte de un cupón que paga MercadoLibre hace parte del precio que "
    "usted recibe",
    "proposal.credit_notes_auto": "una venta cancelada o reembolsada recibe su nota crédito sin "
    "esperar a una persona",
    "proposal.shipping_existing": "producto «{name}» que ya existe en Siigo, para el envío{note}",
    "proposal.shipping_not_service": " (es de tipo {kind}; se recomienda uno de tipo Servicio)",
    "proposal.shipping_created": "creado en Siigo como servicio (código {code}, IVA 19 %, grupo "
    "de inventario «{group}»)",
    # -- a vendor failed while a sale was processed (details go behind "Detalles") -------------
    "sync.vendor_transient": "{vendor} no respondió a tiempo o tuvo un problema pasajero; la "
    "venta se reintenta automáticamente.",
    "sync.vendor_reauth": "La conexión con {vendor} necesita volver a autorizarse: "
    "reconéctela en Conexiones.",
    "sync.vendor_not_found": "{vendor} no encontró lo que se le pidió (la venta o un dato de "
    "ella); revise la venta en {vendor}.",
    "sync.vendor_rejected": "{vendor} rechazó el documento{said}",
    "sync.internal_error": "Error interno inesperado; la venta se reintenta y el error quedó "
    "registrado para el equipo de ConexAPI.",
    "oauth_state_invalid": "Este enlace de autorización no es válido. Inicie la conexión de nuevo "
    "desde ConexAPI.",
    "oauth_state_expired": "Este enlace de autorización caducó. Inicie la conexión de nuevo "
    "desde ConexAPI.",
    "oauth_state_used": "Este enlace de autorización ya se usó. Inicie la conexión de nuevo "
    "desde ConexAPI.",
    "oauth_browser_mismatch": "La autorización debe terminarse en el mismo navegador y con el "
    "mismo usuario que la iniciaron. Si alguien le envió este enlace, no lo use: inicie usted la "
    "conexión desde ConexAPI (Conexiones → Conectar MercadoLibre).",
    "oauth_user_inactive": "El usuario que inició esta autorización ya no está activo en "
    "ConexAPI. Inicie la conexión de nuevo con un usuario activo.",
    "oauth_code_invalid": "MercadoLibre no aceptó la autorización (puede haberse usado o "
    "caducado). Inicie la conexión de nuevo.",
    "web.oauth_failed_title": "No se pudo conectar MercadoLibre",
    # -- URLs called on the seller's behalf (core/outbound.py) -----------------------------------
    "outbound.invalid": "La URL del webhook no es válida: escríbala completa, por ejemplo "
    "https://su-servidor.com/alertas (sin usuario ni contraseña en la URL).",
    "outbound.not_https": "La URL del webhook debe empezar por https://.",
    "outbound.private_address": "La URL del webhook apunta a una dirección interna o privada; "
    "use una dirección pública de internet.",
    "outbound.unresolvable": "No encontramos el servidor de esa URL. Revise el nombre.",
    "alerts.delivery.rejected": "El destino no aceptó la alerta.",
    "alerts.delivery.redirected": "El destino respondió con una redirección; ConexAPI no sigue "
    "redirecciones. Use la URL final.",
    "alerts.delivery.unreachable": "No se pudo entregar: el destino no respondió a tiempo o no "
    "aceptó la conexión.",
    "alerts.delivery.unsafe": "No se envió: la URL ya no apunta a una dirección pública. Revise "
    "el destino en Alertas.",
    "alerts.delivery.no_smtp": "El envío de correos no está configurado en este servidor.",
    "alerts.delivery.email_failed": "No se pudo enviar el correo.",
    "alerts.delivery.failed": "No se pudo entregar.",
    "user_not_found": "Ese usuario no existe en su cuenta.",
    "last_owner": "La cuenta necesita al menos un propietario activo: primero haga propietario "
    "a otro usuario.",
    "login_throttled": "Demasiados intentos de inicio de sesión. Espere un momento e intente "
    "de nuevo.",
    "users.updated": "Usuario {email} actualizado. Sus sesiones abiertas se cerraron.",
    "users.signed_out_everywhere": "Se cerraron todas sus sesiones, en todos los dispositivos. "
    "Inicie sesión de nuevo.",
    # -- dashboard actions ------------------------------------------------------------------------
    "web.import_done": "Importación: {saved} fila(s) guardada(s), {rejected} rechazada(s); "
    "{retried} venta(s) en cola para reintentar.",
    "web.import_line": "línea {line} (SKU {sku}): {reason}",
    "web.import_more": " y {n} más.",
    "web.setting_invalid": "No se guardó: el valor de «{field}» no existe o no está activo en "
    "Siigo, o no sirve para facturar desde ConexAPI. Elija otro.",
    "web.setting_not_saved": "No se guardó: {reason}",
    "web.invalid_field": "El dato de «{field}» no es válido. Revíselo e intente de nuevo.",
    "web.backlog": "Facturando {count} {sales} · ~{minutes} min (límite de Siigo: {rate} por "
    "minuto)",
    "web.backlog_more": "Facturando más de {count} {sales} · más de {minutes} min (límite de "
    "Siigo: {rate} por minuto)",
    "web.queued_place": "En cola · puesto {place} · ~{minutes} min",
    "web.queued_after": "En cola · después del puesto {place} · más de {minutes} min",
    "web.queued_at": "En cola · próximo intento {when}",
    "web.queued": "En cola",
    "web.retry_queued": "Venta {sale}: en cola para reintentar. Esta página se actualiza sola "
    "cuando termine.",
    "web.updated": "Actualizado.",
    "web.annulled": "Venta anulada: las notas crédito devolvieron el total de la factura "
    "({returned}). No cuenta como ingreso.",
    "web.partial_refund": "Devolución parcial: {returned} devueltos con {notes} nota(s) crédito.",
    "web.correction_queued": "Corrección en cola: se emitirá la nota crédito que anula la "
    "factura y luego la factura corregida, una sola vez.",
    "web.sales_count_one": "1 venta",
    "web.sales_count": "{count} ventas",
    "web.sales_count_more": "Más de {count} ventas",
    "web.page_of": "Página {page} de {pages}",
    "web.page": "Página {page}",
    "web.review_queued": "{count} factura(s) en cola para revisar con los productos de Siigo de "
    "hoy; el resultado aparece aquí en unos segundos.",
    # -- vendors ----------------------------------------------------------------------------------
    "vendor.failed": "{vendor} no respondió como se esperaba ({status}). "
    "Intente de nuevo en unos minutos.",
    # -- the sync engine (a sale's timeline and error) --------------------------------------------
    "sync.deferred_siigo_budget": "Esperando el límite de peticiones de Siigo de su empresa; "
    "la venta sigue en ~{wait}.",
    "sync.deferred_meli_budget": "Esperando el cupo de peticiones a MercadoLibre; la venta sigue "
    "en ~{wait}.",
    "sync.seller_shipping_read": "Costo de envío del vendedor leído de MercadoLibre: {cost}.",
    "sync.recheck_deferred": "No se pudo revisar la venta ahora ({reason}); se revisará de nuevo.",
    "sync.dead_after": "Se agotó el plazo de reintentos ({hours} h, {attempts} intentos): "
    "{reason} Revise la venta y reinténtela cuando el proveedor responda.",
    # -- the breaker per Siigo company (sync.breaker) ---------------------------------------------
    "breaker.paused": "Siigo rechazó {refused} de los últimos {sent} documentos ({percent} %): "
    "{codes}. Para que Siigo no bloquee su usuario API (lo hace si más del 80 % de las "
    "peticiones fallan en 7 días), ConexAPI pausó el envío a esta empresa. Corrija la causa "
    "(configuración de la integración, productos, impuestos) y pulse «Reanudar el envío a Siigo».",
    "breaker.sale_paused": "El envío a Siigo está en pausa porque Siigo rechazó muchos documentos "
    "seguidos; la venta se procesará cuando usted reanude el envío en Conexiones.",
    "breaker.resume_button": "Reanudar el envío a Siigo",
    "breaker.resumed": "Se reanudó el envío a Siigo: {count} venta(s) en cola de nuevo.",
    "breaker.paused_label": "Envío pausado",
    "alert.siigo_paused": "El envío a Siigo ({account}) está en pausa: {reason}",
    # -- the schedule a seller sees (sync.schedule) ----------------------------------------------
    "schedule.vendor_limit": "esperando el límite de {vendor}",
    "schedule.siigo_limit": "esperando el límite de Siigo",
    "schedule.token_renewal": "esperando la renovación del acceso a {vendor}",
    "schedule.passing_failure": "reintento tras una falla pasajera",
    "schedule.billing_processing": "esperando los datos de facturación de MercadoLibre",
    "schedule.shipping_unknown": "esperando el costo de envío de MercadoLibre",
    "schedule.permission": "esperando el permiso de MercadoLibre",
    "schedule.siigo_paused": "envío a Siigo en pausa hasta que usted lo reanude",
    "schedule.for": "{wait}, ~{wait_for}",
    "schedule.now": "{wait}; se procesa en un momento",
    "schedule.until_someone_acts": "{wait}",
    "schedule.timeline_until": "{wait}, hasta {when}",
    "schedule.seconds": "{n} s",
    "schedule.minutes": "{n} min",
    "schedule.hours": "{n} h",
    "schedule.days": "{n} días",
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
    "sync.retry_after_setting": "Se guardó la configuración de la integración: la venta se "
    "reintenta sola.",
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
    # -- Verificar configuración (conexapi doctor; English in doctor/english.py) ----------------
    "doctor.title": "Verificar configuración",
    "doctor.intro": "ConexAPI hace las mismas llamadas reales que un primer día de ventas y le "
    "dice, para cada punto, si está bien o qué corregir y dónde.",
    "doctor.all_ok": "Todo en orden: {count} comprobaciones correctas.",
    "doctor.some_problems": "{problems} de {count} comprobaciones tienen un problema.",
    "doctor.status_ok": "Correcto",
    "doctor.status_problem": "Problema",
    "doctor.how_to_fix": "Cómo corregirlo",
    "doctor.run_again": "Verificar de nuevo",
    "doctor.failed": "No se pudo hacer la comprobación: {error}",
    "doctor.failed.fix": "Corrija lo que indica y verifique de nuevo.",
    "doctor.database": "Base de datos",
    "doctor.database.ok": "Accesible y con el esquema en la última versión ({revision}).",
    "doctor.database.unreachable": "No se pudo conectar a la base de datos: {error}",
    "doctor.database.unreachable.fix": "Revise CONEXAPI_DATABASE_URL y que la base de datos esté "
    "encendida.",
    "doctor.database.outdated": "El esquema está en {current} y la última versión es {head}.",
    "doctor.database.outdated.fix": "Ejecute conexapi migrate.",
    "doctor.settings": "Configuración",
    "doctor.settings.ok": "Aplicación de MercadoLibre configurada; URL pública {url}.",
    "doctor.settings.no_meli_app": "Faltan CONEXAPI_MELI_CLIENT_ID o CONEXAPI_MELI_CLIENT_SECRET.",
    "doctor.settings.no_meli_app.fix": "Cópielos de su aplicación en DevCenter de MercadoLibre "
    "(Mis aplicaciones).",
    "doctor.settings.public_url_http": "CONEXAPI_PUBLIC_URL es {url}: MercadoLibre exige "
    "direcciones HTTPS para la redirección y las notificaciones.",
    "doctor.settings.public_url_http.fix": "Publique ConexAPI con HTTPS y ponga esa dirección "
    "https:// en CONEXAPI_PUBLIC_URL.",
    "doctor.keys": "Claves",
    "doctor.keys.ok": "Claves de firma y de cifrado configuradas; los secretos guardados se "
    "descifran.",
    "doctor.keys.development": "Se usan claves de desarrollo; los secretos guardados se "
    "descifran. En producción configure CONEXAPI_SECRET_KEY y CONEXAPI_ENCRYPTION_KEY.",
    "doctor.keys.undecryptable": "{count} secretos guardados no se descifran con las claves "
    "configuradas.",
    "doctor.keys.undecryptable.fix": "Ponga en CONEXAPI_ENCRYPTION_KEY la clave con la que se "
    "cifraron, o agréguela a CONEXAPI_OLD_ENCRYPTION_KEYS.",
    "doctor.meli_app": "Aplicación de MercadoLibre",
    "doctor.meli_app.no_connection": "No hay una cuenta de MercadoLibre conectada para leer la "
    "configuración de la aplicación.",
    "doctor.meli_app.no_connection.fix": "Conecte una cuenta de MercadoLibre en Conexiones y "
    "verifique de nuevo.",
    "doctor.meli_app.unreadable": "MercadoLibre no entregó la configuración de la aplicación: "
    "{error}",
    "doctor.meli_app.unreadable.fix": "Revise CONEXAPI_MELI_APPLICATION_ID (o el client id) e "
    "intente de nuevo.",
    "doctor.meli_redirect": "URI de redirección",
    "doctor.meli_redirect.ok": "La URI de redirección de la aplicación es {expected}.",
    "doctor.meli_redirect.mismatch": "La URI de redirección de la aplicación es {found}; ConexAPI "
    "usa {expected}.",
    "doctor.meli_redirect.mismatch.fix": "En DevCenter → la aplicación → URIs de redirect, ponga "
    "{expected} (o corrija CONEXAPI_PUBLIC_URL).",
    "doctor.meli_notifications": "URL de notificaciones",
    "doctor.meli_notifications.ok": "Las notificaciones llegan a {expected}.",
    "doctor.meli_notifications.mismatch": "Las notificaciones van a {found}; ConexAPI las recibe "
    "en {expected}.",
    "doctor.meli_notifications.mismatch.fix": "En DevCenter → la aplicación → Notificaciones "
    "callbacks URL, ponga {expected}.",
    "doctor.meli_topics": "Tópicos de notificación",
    "doctor.meli_topics.ok": "Suscrita a orders_v2 (tópicos: {topics}).",
    "doctor.meli_topics.missing": "No está suscrita a orders_v2 (tópicos: {topics}).",
    "doctor.meli_topics.missing.fix": "En DevCenter → la aplicación → Tópicos, marque Orders "
    "(orders_v2).",
    "doctor.meli_token": "Cuenta de MercadoLibre",
    "doctor.meli_token.ok": "El token de {account} funciona.",
    "doctor.meli_token.reauth": "La cuenta {account} necesita volver a autorizarse.",
    "doctor.meli_token.reauth.fix": "Reconéctela en Conexiones (con la cuenta principal, no con "
    "un colaborador).",
    "doctor.meli_token.error": "MercadoLibre no respondió para {account}: {error}",
    "doctor.meli_token.error.fix": "Intente de nuevo en unos minutos.",
    "doctor.meli_orders": "Permiso: Ventas y envíos",
    "doctor.meli_orders.ok": "La aplicación puede leer las ventas de {account}.",
    "doctor.meli_orders.missing_permission": "A la aplicación de MercadoLibre le falta el permiso "
    "funcional «{permission}» para {account}.",
    "doctor.meli_orders.missing_permission.fix": "En DevCenter → la aplicación → Permisos "
    "funcionales, active «{permission}». Los vendedores ya conectados no tienen que volver a "
    "autorizar.",
    "doctor.meli_orders.error": "No se pudieron leer las ventas de {account}: {error}",
    "doctor.meli_orders.error.fix": "Intente de nuevo en unos minutos.",
    "doctor.meli_billing": "Permiso: Facturación",
    "doctor.meli_billing.ok": "La aplicación puede leer los datos de facturación de los "
    "compradores de {account}.",
    "doctor.meli_billing.missing_permission": "A la aplicación de MercadoLibre le falta el "
    "permiso funcional «{permission}» para {account}: los datos de facturación responden 403 "
    "(PA_UNAUTHORIZED_RESULT_FROM_POLICIES) y las ventas esperan.",
    "doctor.meli_billing.missing_permission.fix": "En DevCenter → la aplicación → Permisos "
    "funcionales, active «{permission}». Los vendedores ya conectados no tienen que volver a "
    "autorizar: las ventas se reanudan solas.",
    "doctor.meli_billing.error": "No se pudieron leer los datos de facturación de {account}: "
    "{error}",
    "doctor.meli_billing.error.fix": "Intente de nuevo en unos minutos.",
    "doctor.siigo": "Credenciales de Siigo",
    "doctor.siigo.ok": "Siigo acepta el usuario API {account}.",
    "doctor.siigo.rejected": "Siigo rechaza el usuario API {account} y su clave de acceso.",
    "doctor.siigo.rejected.fix": "Escríbalos de nuevo en Conexiones (Siigo Nube: Alianzas → Mi "
    "credencial API).",
    "doctor.siigo.error": "Siigo no respondió para {account}: {error}",
    "doctor.siigo.error.fix": "Intente de nuevo en unos minutos.",
    "doctor.catalog": "Catálogos de Siigo",
    "doctor.catalog.unreadable": "No se pudieron leer los catálogos de Siigo: {error}",
    "doctor.catalog.unreadable.fix": "Revise las credenciales de Siigo e intente de nuevo.",
    "doctor.catalog_fv": "Tipo de factura (FV)",
    "doctor.catalog_fv.ok": "{name} ({id}): activo y electrónico.",
    "doctor.catalog_fv.not_set": "No hay un tipo de factura de venta configurado.",
    "doctor.catalog_fv.not_set.fix": "Elíjalo en Integración.",
    "doctor.catalog_fv.not_found": "El tipo de factura {id} no existe en Siigo.",
    "doctor.catalog_fv.not_found.fix": "Elija uno existente en Integración.",
    "doctor.catalog_fv.inactive": "El tipo de factura {name} ({id}) está inactivo en Siigo.",
    "doctor.catalog_fv.inactive.fix": "Actívelo en Siigo Nube o elija otro en Integración.",
    "doctor.catalog_fv.not_electronic": "El tipo de factura {name} ({id}) no es electrónico: sus "
    "facturas nunca llegan a la DIAN.",
    "doctor.catalog_fv.not_electronic.fix": "Elija un tipo de factura electrónica (con resolución "
    "de numeración de la DIAN) en Integración.",
    "doctor.catalog_nc": "Tipo de nota crédito (NC)",
    "doctor.catalog_nc.ok": "{name} ({id}): activo y electrónico.",
    "doctor.catalog_nc.not_set": "No hay un tipo de nota crédito configurado.",
    "doctor.catalog_nc.not_set.fix": "Elíjalo en Integración.",
    "doctor.catalog_nc.not_found": "El tipo de nota crédito {id} no existe en Siigo.",
    "doctor.catalog_nc.not_found.fix": "Elija uno existente en Integración.",
    "doctor.catalog_nc.inactive": "El tipo de nota crédito {name} ({id}) está inactivo en Siigo.",
    "doctor.catalog_nc.inactive.fix": "Actívelo en Siigo Nube o elija otro en Integración.",
    "doctor.catalog_nc.not_electronic": "El tipo de nota crédito {name} ({id}) no es electrónico "
    "y las facturas sí.",
    "doctor.catalog_nc.not_electronic.fix": "Elija un tipo de nota crédito electrónica en "
    "Integración.",
    "doctor.catalog_tax": "Impuesto IVA",
    "doctor.catalog_tax.ok": "{name} ({id}): IVA activo.",
    "doctor.catalog_tax.not_set": "No hay un impuesto IVA configurado.",
    "doctor.catalog_tax.not_set.fix": "Elíjalo en Integración.",
    "doctor.catalog_tax.unusable": "El impuesto {name} ({id}) no existe, está inactivo o no es "
    "IVA.",
    "doctor.catalog_tax.unusable.fix": "Elija un IVA activo en Integración.",
    "doctor.catalog_payment_fv": "Forma de pago de las facturas",
    "doctor.catalog_payment_fv.ok": "{name} ({id}): activa y sin fecha de vencimiento.",
    "doctor.catalog_payment_fv.not_set": "No hay una forma de pago de facturas configurada.",
    "doctor.catalog_payment_fv.not_set.fix": "Elíjala en Integración.",
    "doctor.catalog_payment_fv.unusable": "La forma de pago {name} ({id}) no existe o está "
    "inactiva.",
    "doctor.catalog_payment_fv.unusable.fix": "Elija una activa en Integración.",
    "doctor.catalog_payment_fv.due_date": "La forma de pago {name} ({id}) pide fecha de "
    "vencimiento y las ventas de MercadoLibre ya están pagadas.",
    "doctor.catalog_payment_fv.due_date.fix": "Elija una sin vencimiento (p. ej. MercadoPago) en "
    "Integración.",
    "doctor.catalog_payment_nc": "Forma de pago de las notas crédito",
    "doctor.catalog_payment_nc.ok": "{name} ({id}): activa.",
    "doctor.catalog_payment_nc.not_set": "No hay una forma de pago de notas crédito configurada.",
    "doctor.catalog_payment_nc.not_set.fix": "Elíjala en Integración.",
    "doctor.catalog_payment_nc.unusable": "La forma de pago {name} ({id}) no existe o está "
    "inactiva.",
    "doctor.catalog_payment_nc.unusable.fix": "Elija una activa en Integración.",
    "doctor.catalog_seller": "Vendedor",
    "doctor.catalog_seller.ok": "{name} ({id}): usuario activo de Siigo.",
    "doctor.catalog_seller.not_set": "No hay un vendedor configurado.",
    "doctor.catalog_seller.not_set.fix": "Elíjalo en Integración.",
    "doctor.catalog_seller.unusable": "El vendedor {id} no existe o está inactivo en Siigo.",
    "doctor.catalog_seller.unusable.fix": "Elija un usuario activo de Siigo en Integración.",
    "doctor.catalog_shipping": "Producto de envío",
    "doctor.catalog_shipping.ok": "{code}: activo en Siigo.",
    "doctor.catalog_shipping.missing": "El producto de envío {code} no está configurado, no "
    "existe o está inactivo: las ventas con envío pagado por el comprador esperan.",
    "doctor.catalog_shipping.missing.fix": "Cree un producto de servicio (p. ej. ENVIOML) en "
    "Siigo y configúrelo en Integración.",
    "doctor.clock": "Reloj",
    "doctor.clock.ok": "El reloj de este servidor está a {seconds} s del de {vendor}.",
    "doctor.clock.unknown": "No se pudo leer la hora de MercadoLibre ni de Siigo; no se comparó.",
    "doctor.clock.skewed": "El reloj de este servidor difiere {seconds} s del de {vendor}: los "
    "tokens y las fechas de las facturas fallan.",
    "doctor.clock.skewed.fix": "Sincronice la hora del servidor (NTP).",
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

from conexapi.messages.es_co_seller_fixes import SELLER_FIXES  # noqa: E402

CATALOGUE.update(SELLER_FIXES)
