"""How the dashboard writes things for a Colombian reader: pesos, dates, states, in Spanish."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

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


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def cop(value: Any, *, empty: str = "—") -> str:
    """Colombian pesos: "$ 129.700"; cents only when there are any ("$ 1.234,50")."""
    amount = to_decimal(value)
    if amount is None:
        return empty
    sign = "-" if amount < 0 else ""
    amount = abs(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, cents = divmod(amount, 1)
    grouped = f"{int(whole):,}".replace(",", ".")
    if cents:
        grouped += "," + f"{int(cents * 100):02d}"
    return f"{sign}$ {grouped}"


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
    "ml_statuses": ml_statuses,
    "cop": cop,
    "number": number,
    "fecha": fecha,
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
