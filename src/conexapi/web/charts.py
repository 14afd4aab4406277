"""A small bar chart drawn on the server as inline SVG (no JavaScript, no external library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from conexapi.messages.numbers import cop
from conexapi.web.format import MONTHS


@dataclass(frozen=True)
class Bar:
    label: str
    total: Decimal
    net: Decimal


def _nice_max(value: Decimal) -> Decimal:
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        candidate = magnitude * Decimal(str(step))
        if candidate >= value:
            return candidate
    return magnitude * 10


def _short(amount: Decimal) -> str:
    if amount >= 1_000_000:
        return f"$ {amount / 1_000_000:.1f} M".replace(".", ",")
    if amount >= 1_000:
        return f"$ {amount / 1_000:.0f} mil"
    return cop(amount)


def bar_chart(bars: Sequence[Bar], *, title: str) -> Markup:
    """Paired bars (sale total, net) per day; accessible via <title>/<desc> and a table."""
    width, height, left, bottom, top = 760, 240, 64, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max([b.total for b in bars] + [b.net for b in bars] + [Decimal(0)]))
    floor = min([b.net for b in bars] + [Decimal(0)])
    span = peak - floor if peak > floor else Decimal(1)

    def y(v: Decimal) -> float:
        return float(top + plot_h - (v - floor) / span * plot_h)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-t chart-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-t">{escape(title)}</title>',
        '<desc id="chart-d">Barras claras: total vendido; barras oscuras: ganancia neta. '
        "Los valores exactos están en la tabla.</desc>",
    ]
    for i in range(5):
        v = floor + span * i / 4
        yy = y(v)
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e3e7ee"/>'
            f'<text x="{left - 6}" y="{yy + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#5b6576">{escape(_short(v))}</text>'
        )
    if bars:
        slot = plot_w / len(bars)
        bw = max(2.0, min(26.0, slot * 0.36))
        zero = y(Decimal(0))
        every = max(1, len(bars) // 12)
        for i, b in enumerate(bars):
            x = left + slot * i + slot / 2
            for dx, value, color in ((-bw, b.total, "#a9c0f5"), (0.0, b.net, "#1f4fd1")):
                top_y, bot_y = sorted((y(value), zero))
                parts.append(
                    f'<rect x="{x + dx:.1f}" y="{top_y:.1f}" width="{bw:.1f}" '
                    f'height="{max(bot_y - top_y, 0.5):.1f}" fill="{color}" rx="2">'
                    f"<title>{escape(b.label)}: {escape(cop(value))}</title></rect>"
                )
            if i % every == 0:
                parts.append(
                    f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" '
                    f'fill="#5b6576">{escape(b.label)}</text>'
                )
    else:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#5b6576">'
            "Sin ventas facturadas en el periodo</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def day_label(day: object) -> str:
    from datetime import date

    if isinstance(day, date):
        return f"{day.day} {MONTHS[day.month - 1]}"
    return str(day)
