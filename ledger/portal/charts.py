"""Server-side SVG bar charts: no JavaScript, readable by screen readers, printable.

A chart is an inline <svg role="img"> named by its <title> (aria-labelledby) and described by a
<desc> that lists every value, so the numbers are there for people who cannot see the bars. Each
bar carries its own <title> (a tooltip on hover) and a text label, and the values are drawn as
text too: the chart never relies on colour or hover alone.

Amounts arrive already formatted (through ledger.money); this module only scales integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ids = count(1)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # the category ("2026-05", "Atelier")
    value: int  # minor units (or any integer); negatives are drawn as zero-height bars
    display: str  # the value as people read it ("€1,234.50")


def _chart_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _desc(title: str, bars: Sequence[Bar]) -> str:
    return f"{title}: " + "; ".join(f"{bar.label} {bar.display}" for bar in bars) + "."


def column_chart(
    *, title: str, bars: Sequence[Bar], width: int = 640, height: int = 240
) -> SafeString:
    """Vertical bars, one per category left to right (months)."""
    chart_id = _chart_id("chart")
    if not bars:
        return _empty(title, chart_id)
    top, bottom, side = 24, 40, 8
    plot_h = height - top - bottom
    slot = (width - 2 * side) / len(bars)
    bar_w = max(4.0, slot * 0.6)
    peak = max(max(bar.value for bar in bars), 1)
    parts = [_open(chart_id, title, bars, width, height)]
    base_y = top + plot_h
    parts.append(
        f'<line class="axis" x1="{side}" y1="{base_y}" x2="{width - side}" y2="{base_y}"/>'
    )
    for i, bar in enumerate(bars):
        h = plot_h * max(bar.value, 0) / peak
        x = side + i * slot + (slot - bar_w) / 2
        cx = side + i * slot + slot / 2
        label, display = escape(bar.label), escape(bar.display)
        parts.append(
            f"<g><title>{label}: {display}</title>"
            f'<rect class="bar" x="{x:.1f}" y="{base_y - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"/>'
            f'<text class="value" x="{cx:.1f}" y="{base_y - h - 4:.1f}" '
            f'text-anchor="middle">{display}</text>'
            f'<text class="label" x="{cx:.1f}" y="{base_y + 16}" text-anchor="middle">'
            f"{label}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def row_chart(*, title: str, bars: Sequence[Bar], width: int = 640) -> SafeString:
    """Horizontal bars, one row per category (brands): long names stay readable on a phone."""
    chart_id = _chart_id("chart")
    if not bars:
        return _empty(title, chart_id)
    row_h, gap, top = 22, 26, 8
    height = top + len(bars) * (row_h + gap)
    label_w = width * 0.32
    plot_w = width - label_w - 110
    peak = max(max(bar.value for bar in bars), 1)
    parts = [_open(chart_id, title, bars, width, height)]
    for i, bar in enumerate(bars):
        y = top + i * (row_h + gap)
        w = plot_w * max(bar.value, 0) / peak
        label, display = escape(bar.label), escape(bar.display)
        parts.append(
            f"<g><title>{label}: {display}</title>"
            f'<text class="label" x="{label_w - 8:.1f}" y="{y + row_h * 0.7:.1f}" '
            f'text-anchor="end">{label}</text>'
            f'<rect class="bar" x="{label_w:.1f}" y="{y}" width="{w:.1f}" height="{row_h}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + row_h * 0.7:.1f}">'
            f"{display}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _open(chart_id: str, title: str, bars: Sequence[Bar], width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(_desc(title, bars))}</desc>'
    )


def _empty(title: str, chart_id: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 40" role="img" '
        f'aria-labelledby="{chart_id}-title"><title id="{chart_id}-title">{escape(title)}: '
        f'nothing yet</title><text class="label" x="8" y="24">Nothing yet.</text></svg>'
    )
