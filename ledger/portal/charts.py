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
    label: str  # the category ("May", "Atelier")
    value: int  # minor units (or any integer); negatives are drawn as zero-height bars
    display: str  # the value as people read it ("€1,234.50")
    note: str = ""  # a second line under a column's label ("2026"), and part of its name


def _chart_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _name(bar: Bar) -> str:
    return f"{bar.label} {bar.note}".strip()


def _desc(title: str, bars: Sequence[Bar]) -> str:
    return f"{title}: " + "; ".join(f"{_name(bar)} {bar.display}" for bar in bars) + "."


# Below this many user units per column, values over the bars would collide: the chart then
# draws one reference line at the highest value instead (every value stays in titles and desc).
MIN_SLOT_FOR_VALUES = 70


def column_chart(
    *, title: str, bars: Sequence[Bar], width: int = 560, height: int = 250
) -> SafeString:
    """Vertical bars, one per category left to right (months)."""
    chart_id = _chart_id("chart")
    if not bars:
        return _empty(title, chart_id)
    top, bottom, side = 26, 46, 8
    plot_h = height - top - bottom
    slot = (width - 2 * side) / len(bars)
    bar_w = max(4.0, slot * 0.6)
    peak_bar = max(bars, key=lambda bar: bar.value)
    peak = max(peak_bar.value, 1)
    values_fit = slot >= MIN_SLOT_FOR_VALUES
    parts = [_open(chart_id, title, bars, width, height)]
    base_y = top + plot_h
    parts.append(
        f'<line class="axis" x1="{side}" y1="{base_y}" x2="{width - side}" y2="{base_y}"/>'
    )
    if not values_fit and peak_bar.value > 0:
        parts.append(
            f'<line class="grid" x1="{side}" y1="{top}" x2="{width - side}" y2="{top}"/>'
            f'<text class="value" x="{side}" y="{top - 6}">{escape(peak_bar.display)}</text>'
        )
    for i, bar in enumerate(bars):
        h = plot_h * max(bar.value, 0) / peak
        x = side + i * slot + (slot - bar_w) / 2
        cx = side + i * slot + slot / 2
        label, display = escape(bar.label), escape(bar.display)
        value = (
            f'<text class="value" x="{cx:.1f}" y="{base_y - h - 5:.1f}" '
            f'text-anchor="middle">{display}</text>'
            if values_fit
            else ""
        )
        note = (
            f'<text class="label note" x="{cx:.1f}" y="{base_y + 36}" text-anchor="middle">'
            f"{escape(bar.note)}</text>"
            if bar.note
            else ""
        )
        parts.append(
            f"<g><title>{escape(_name(bar))}: {display}</title>"
            f'<rect class="bar" x="{x:.1f}" y="{base_y - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"/>{value}'
            f'<text class="label" x="{cx:.1f}" y="{base_y + 18}" text-anchor="middle">'
            f"{label}</text>{note}</g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def row_chart(*, title: str, bars: Sequence[Bar], width: int = 560) -> SafeString:
    """Horizontal bars, one row per category (brands): long names stay readable on a phone."""
    chart_id = _chart_id("chart")
    if not bars:
        return _empty(title, chart_id)
    row_h, gap, top = 26, 18, 8
    height = top + len(bars) * (row_h + gap)
    label_w = width * 0.34
    plot_w = width - label_w - 120
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
