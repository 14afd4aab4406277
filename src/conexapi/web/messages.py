"""Spanish wording for the error codes the services raise (their messages are for the API)."""

from __future__ import annotations

from conexapi.core.errors import AppError, IntegrationError

MESSAGES: dict[str, str] = {
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
}


def spanish(exc: AppError) -> str:
    """The Spanish message for a service error (details such as the setting name appended)."""
    base = MESSAGES.get(exc.code)
    if base is None:
        return exc.message
    return base


def vendor_message(exc: IntegrationError) -> str:
    """A vendor that failed, in words a seller can act on (the details go to the logs)."""
    vendor = "Siigo" if exc.vendor.lower().startswith("siigo") else "MercadoLibre"
    return (
        f"{vendor} no respondió como se esperaba ({exc.status_code or 'sin respuesta'}). "
        "Intente de nuevo en unos minutos."
    )
