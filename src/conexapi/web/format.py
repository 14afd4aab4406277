"""How the dashboard writes things for a Colombian reader: pesos, dates, states, in Spanish."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from conexapi.messages import CATALOGUE, split_detail, text
from conexapi.messages.numbers import cop, dmy, integer, to_decimal
from conexapi.sales.clock import COLOMBIA

STATE_LABELS: dict[str, str] = {
    "pending": "Pendiente",
    "waiting": "Esperando",
    "retrying": "Reintentando",
    "needs_attention": "Requiere atención",
    "invoiced": "Facturada",
    "credited": "Acreditada (nota crédito)",
    "skipped": "Omitida",
    "dead": "Fallida",
}
STATE_ORDER = list(STATE_LABELS)
STATE_TONES: dict[str, str] = {
    "pending": "info",
    "waiting": "muted",
    "retrying": "warn",
    "needs_attention": "danger",
    "invoiced": "ok",
    "credited": "accent",
    "skipped": "muted",
    "dead": "danger",
}
DIAN_LABELS: dict[str, str] = {
    "Accepted": "Aceptada por la DIAN",
    "Rejected": "Rechazada por la DIAN",
    "Draft": "En trámite DIAN",
}
CONNECTION_LABELS = {
    "active": "Activa",
    "needs_reauth": "Requiere reconexión",
    "needs_permission": "Falta un permiso",
}
PROVIDER_LABELS = {"mercadolibre": "MercadoLibre", "siigo": "Siigo Nube"}
DOC_KIND_LABELS = {"invoice": "Factura de venta", "credit_note": "Nota crédito"}
DOC_STATUS_LABELS = {
    "in_flight": "Enviándose",
    "issued": "Emitida",
    "failed": "Rechazada por Siigo",
}
JOB_STATE_LABELS = {
    "pending": "En cola",
    "running": "En curso",
    "done": "Terminado",
    "completed": "Terminado",
    "failed": "Falló",
}
ML_STATUS_LABELS = {
    "paid": "pagada",
    "confirmed": "confirmada",
    "payment_required": "pago pendiente",
    "payment_in_process": "pago en proceso",
    "partially_paid": "pago parcial",
    "partially_refunded": "reembolso parcial",
    "pending_cancel": "cancelación pendiente",
    "cancelled": "cancelada",
    "invalid": "inválida",
}
MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


def number(value: Any) -> str:
    amount = to_decimal(value)
    if amount is None:
        return "—"
    return f"{amount:,}".replace(",", "X").replace(".", ",").replace("X", ".")


def local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COLOMBIA)


def fecha(moment: datetime | date | None, *, with_time: bool = True) -> str:
    """Colombia time, "27 nov 2026, 17:05"."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        moment = local(moment)
        assert moment is not None
        text = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
        return f"{text}, {moment:%H:%M}" if with_time else text
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def fecha_iso(value: Any) -> str:
    """An ISO moment stored as text (a person's mark, a preview), in Colombia time."""
    if isinstance(value, datetime):
        return fecha(value)
    try:
        return fecha(datetime.fromisoformat(str(value)))
    except ValueError:
        return "—"


def fecha_dia(value: Any) -> str:
    """A day given as AAAA-MM-DD, as "27 nov 2026"."""
    try:
        return fecha(date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "—")


def cause_label(code: str | None) -> str:
    """Why sales need the seller, in a few words (the catalogue's `cause.<code>`)."""
    key = f"cause.{code}"
    return CATALOGUE.get(key, CATALOGUE["cause.other"])


def iso_local(moment: datetime | None) -> str:
    value = local(moment)
    return value.isoformat(timespec="seconds") if value else ""


def state_label(state: str | None) -> str:
    return STATE_LABELS.get(state or "", state or "—")


def dian_label(status: str | None) -> str:
    if not status:
        return "Sin enviar a la DIAN"
    return DIAN_LABELS.get(status, status)


def dian_tone(status: str | None) -> str:
    return {"Accepted": "ok", "Rejected": "danger"}.get(status or "", "warn")


def ml_statuses(statuses: Any) -> str:
    unique = sorted({str(s) for s in statuses or []})
    return ", ".join(ML_STATUS_LABELS.get(s, s) for s in unique) or "—"


CSV_REASONS = {
    "missing columns": "csv.missing_columns",
    "empty sku": "csv.empty_sku",
    "sku too long": "csv.sku_too_long",
    "invalid code": "csv.invalid_code",
    "not found in Siigo": "csv.not_found",
    "inactive in Siigo": "csv.inactive",
}


def csv_reason(reason: str) -> str:
    """A CSV import line's rejection (the API's English reason) in the seller's words."""
    if reason.startswith("duplicate sku"):
        line = "".join(c for c in reason if c.isdigit()) or "—"
        return text("csv.duplicate_sku", line=line)
    for prefix, key in CSV_REASONS.items():
        if reason.startswith(prefix):
            return text(key)
    return reason


def human(message: str | None) -> str:
    """A stored message without its technical detail (that goes behind "Detalles")."""
    return split_detail(message)[0]


def technical(message: str | None) -> str:
    return split_detail(message)[1]


def external_link(url: object) -> str:
    """`url` when it is an absolute http(s) URL, else "" (no link): a vendor's value such as
    Siigo's `public_url` could be `javascript:…` or `data:…`, which must never become a link."""
    if not isinstance(url, str):
        return ""
    value = url.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(c in value for c in "\r\n\t\x00"):
        return ""
    return value


def internal_link(path: object) -> str:
    """`path` when it is one of our own dashboard paths, else "/app"."""
    if isinstance(path, str) and path.startswith("/app") and "\\" not in path:
        return path
    return "/app"


FILTERS = {
    "external_link": external_link,
    "internal_link": internal_link,
    "human": human,
    "technical": technical,
    "csv_reason": csv_reason,
    "ml_statuses": ml_statuses,
    "cop": cop,
    "number": number,
    "integer": integer,
    "dmy": dmy,
    "fecha": fecha,
    "fecha_iso": fecha_iso,
    "fecha_dia": fecha_dia,
    "cause_label": cause_label,
    "iso_local": iso_local,
    "state_label": state_label,
    "state_tone": lambda s: STATE_TONES.get(s or "", "muted"),
    "dian_label": dian_label,
    "dian_tone": dian_tone,
    "connection_label": lambda s: CONNECTION_LABELS.get(s or "", s or "—"),
    "provider_label": lambda s: PROVIDER_LABELS.get(s or "", s or "—"),
    "doc_kind_label": lambda s: DOC_KIND_LABELS.get(s or "", s or "—"),
    "doc_status_label": lambda s: DOC_STATUS_LABELS.get(s or "", s or "—"),
    "job_state_label": lambda s: JOB_STATE_LABELS.get(s or "", s or "—"),
}
