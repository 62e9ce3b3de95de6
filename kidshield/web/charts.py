"""Charts as inline SVG, drawn on the server: no JavaScript library, no CDN. Each chart has a
text title and a table-like description for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup


def hourly_bars(title: str, hours: Sequence[datetime], queries: Sequence[int],
                blocks: Sequence[int], tz_label: str = "") -> Markup:
    """Queries (light) and blocks (dark) per hour, 24 bars."""
    width, height, pad = 480, 140, 20
    n = max(len(queries), 1)
    top = max(max(queries, default=0), 1)
    bar = (width - 2 * pad) / n
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (q, b) in enumerate(zip(queries, blocks, strict=False)):
        x = pad + i * bar
        hq = (height - 2 * pad) * q / top
        hb = (height - 2 * pad) * b / top
        parts.append(f'<rect class="q" x="{x:.1f}" y="{height - pad - hq:.1f}" '
                     f'width="{bar * 0.8:.1f}" height="{hq:.1f}"><title>{hours[i]:%H}:00 '
                     f'{q} / {b}</title></rect>')
        if b:
            parts.append(f'<rect class="b" x="{x:.1f}" y="{height - pad - hb:.1f}" '
                         f'width="{bar * 0.8:.1f}" height="{hb:.1f}"/>')
        if i % 6 == 0 and i < len(hours):
            parts.append(f'<text x="{x:.1f}" y="{height - 4}">{hours[i]:%H}:00</text>')
    parts.append(f'<text x="{pad}" y="12">{top}</text></svg>')
    return Markup("".join(parts))


def hbars(title: str, items: Sequence[tuple[str, float]], limit: float | None = None,
          unit: str = "") -> Markup:
    """Horizontal bars with labels (reasons, categories, top names, time used vs budget)."""
    if not items:
        return Markup("")
    width, row = 480, 26
    height = row * len(items) + 6
    top = limit or max((v for _, v in items), default=1) or 1
    parts = [f'<svg class="chart hbars" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = max(2.0, 250 * min(value / top, 1.0))
        parts.append(f'<text x="0" y="{y + 15}">{escape(label[:28])}</text>'
                     f'<rect class="{"over" if limit and value >= limit else "b"}" x="200" '
                     f'y="{y}" width="{w:.1f}" height="18"/>'
                     f'<text x="{205 + w:.1f}" y="{y + 15}">{value:g}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
