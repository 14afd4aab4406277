"""The Jinja2 environment of the dashboard (autoescaped), with its filters and globals."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from conexapi import __version__
from conexapi.alerts.delivery import delivery_error
from conexapi.messages import text
from conexapi.web.format import FILTERS, STATE_LABELS, STATE_ORDER

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(FILTERS)
templates.env.globals.update(
    # `t("key", **params)`: a seller-facing sentence from the message catalogue.
    {
        "STATE_LABELS": STATE_LABELS,
        "STATE_ORDER": STATE_ORDER,
        "version": __version__,
        "t": text,
        # the Spanish text of a failed alert delivery (never the low-level error)
        "delivery_error": delivery_error,
    }
)
