"""Inline SVG charts for reports, drawn by hand: no scripts, no fonts or images to fetch.

Every text placed in an SVG is XML-escaped here; the templates insert the result as markup.
Colours are light (printable, no dark fills); shapes carry ``<title>`` tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape

__all__ = ["FlowRow", "class_sizes", "cumulative_epsilon", "flow"]

_FONT = (
    'font-family="system-ui, -apple-system, &quot;PingFang SC&quot;, &quot;Microsoft YaHei&quot;, '
    '&quot;Noto Sans CJK SC&quot;, sans-serif"'
)


def _t(text: object) -> str:
    return str(escape(str(text)))


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def cumulative_epsilon(
    times: Sequence[datetime],
    epsilons: Sequence[float],
    total: float,
    *,
    width: int = 720,
    height: int = 260,
) -> str:
    """A step chart of cumulative epsilon spent over time, with the total budget as a line.

    ``times`` and ``epsilons`` are the spends in order. With fewer than two distinct times the
    x axis counts releases instead of time.
    """
    left, right, top, bottom = 56, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    cumulative: list[float] = []
    running = 0.0
    for eps in epsilons:
        running += eps
        cumulative.append(running)
    y_max = max([total, *cumulative, 1e-12])
    by_time = len(set(times)) > 1
    if by_time:
        t0, t1 = min(times), max(times)
        span = (t1 - t0).total_seconds()
        xs = [(t - t0).total_seconds() / span for t in times]
    else:
        n = max(len(epsilons), 1)
        xs = [(i + 1) / n for i in range(len(epsilons))]

    def x(frac: float) -> float:
        return left + frac * plot_w

    def y(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT} font-size="11">',
        "<title>Cumulative epsilon spent over time</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        'stroke="#d0d7de"/>',
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = frac * y_max
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#57606a">'
            f"{_fmt(value)}</text>"
        )
    parts.append(
        f'<line class="total" x1="{left}" x2="{left + plot_w}" y1="{y(total):.1f}" '
        f'y2="{y(total):.1f}" stroke="#cf222e" stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{left + plot_w - 4}" y="{y(total) - 5:.1f}" text-anchor="end" fill="#cf222e">'
        f"total ε = {_fmt(total)}</text>"
    )
    if cumulative:
        points = [f"{x(0):.1f},{y(0):.1f}"]
        previous = 0.0
        for frac, value in zip(xs, cumulative, strict=True):
            points.append(f"{x(frac):.1f},{y(previous):.1f}")
            points.append(f"{x(frac):.1f},{y(value):.1f}")
            previous = value
        parts.append(
            f'<polyline class="spent" points="{" ".join(points)}" fill="none" '
            'stroke="#0969da" stroke-width="2"/>'
        )
        if len(cumulative) <= 60:
            for i, (frac, value) in enumerate(zip(xs, cumulative, strict=True), start=1):
                parts.append(
                    f'<circle cx="{x(frac):.1f}" cy="{y(value):.1f}" r="3" fill="#0969da">'
                    f"<title>release {i}: cumulative ε = {_fmt(value)}</title></circle>"
                )
    if by_time:
        labels = (
            (left, "start", times_label(min(times))),
            (left + plot_w, "end", times_label(max(times))),
        )
        axis = "time (UTC)"
    else:
        labels = ((left, "start", "0"), (left + plot_w, "end", str(len(epsilons))))
        axis = "releases"
    for pos, anchor, label in labels:
        parts.append(
            f'<text x="{pos}" y="{top + plot_h + 16}" text-anchor="{anchor}" fill="#57606a">'
            f"{_t(label)}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f'fill="#57606a">{axis}</text>'
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="#57606a" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">cumulative ε</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def times_label(moment: datetime) -> str:
    """A compact UTC time for axis labels."""
    return moment.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class FlowRow:
    """One source column's way to the outputs: the action and the columns it became.

    A row without outputs was either ``dropped`` or only aggregated (a DP release measure).
    """

    source: str
    action: str
    outputs: tuple[str, ...]
    sensitive: bool = False
    dropped: bool = False


_ACTION_COLOURS = {
    "drop": "#ffebe9",
    "pseudonymize": "#ddf4ff",
    "generalize": "#fff8c5",
    "mask": "#fbefff",
    "bucketize": "#fff1e5",
    "clip": "#fff1e5",
    "keep": "#dafbe1",
}


def _clip_text(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow(rows: Sequence[FlowRow], *, width: int = 760) -> str:
    """A data-flow diagram: source column -> action -> output columns (or dropped), one row each."""
    row_h, top = 24, 28
    col_src, col_act, col_out = 8, 300, 470
    height = top + row_h * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT} font-size="12">',
        "<title>Data flow from source columns to outputs</title>",
        f'<text x="{col_src}" y="16" font-weight="600">source column</text>'
        f'<text x="{col_act}" y="16" font-weight="600">action</text>'
        f'<text x="{col_out}" y="16" font-weight="600">output</text>',
    ]
    for i, row in enumerate(rows):
        y0 = top + i * row_h
        mid = y0 + row_h / 2 - 2
        stroke = "#cf222e" if row.sensitive else "#8c959f"
        fill = _ACTION_COLOURS.get(row.action, "#f6f8fa")
        outputs = ", ".join(row.outputs) or ("dropped" if row.dropped else "aggregate only")
        parts.append(
            f'<g class="flow-row"><title>{_t(row.source)} → {_t(row.action)} → {_t(outputs)}'
            "</title>"
            f'<rect x="{col_src}" y="{y0}" width="{col_act - col_src - 40}" height="{row_h - 4}" '
            f'rx="3" fill="#ffffff" stroke="{stroke}" stroke-width="{2 if row.sensitive else 1}"/>'
            f'<text x="{col_src + 6}" y="{mid + 4}">{_t(_clip_text(row.source))}</text>'
            f'<line x1="{col_act - 32}" y1="{mid}" x2="{col_act - 4}" y2="{mid}" '
            'stroke="#8c959f" marker-end="url(#arrow)"/>'
            f'<rect x="{col_act}" y="{y0}" width="{col_out - col_act - 40}" height="{row_h - 4}" '
            f'rx="10" fill="{fill}" stroke="#d0d7de"/>'
            f'<text x="{col_act + 8}" y="{mid + 4}">{_t(row.action)}</text>'
            f'<line x1="{col_out - 32}" y1="{mid}" x2="{col_out - 4}" y2="{mid}" '
            'stroke="#8c959f" marker-end="url(#arrow)"/>'
        )
        if row.outputs:
            parts.append(
                f'<text x="{col_out + 4}" y="{mid + 4}">{_t(_clip_text(outputs, 40))}</text></g>'
            )
        else:
            colour = "#cf222e" if row.dropped else "#57606a"
            parts.append(
                f'<text x="{col_out + 4}" y="{mid + 4}" fill="{colour}" font-style="italic">'
                f"{outputs}</text></g>"
            )
    parts.insert(
        2,
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#8c959f"/></marker></defs>',
    )
    parts.append("</svg>")
    return "".join(parts)


#: Class-size buckets of :func:`class_sizes`: [low, high) in records per class.
_SIZE_BUCKETS = ((1, 2), (2, 3), (3, 5), (5, 10), (10, 20), (20, 50), (50, 100), (100, 0))


def class_sizes(
    histogram: Sequence[tuple[int, int]], k: int, *, width: int = 720, height: int = 240
) -> str:
    """Bars of the share of records per class-size bucket (1, 2, 3-4, ..., 100+); buckets of
    classes smaller than ``k`` in red. ``histogram`` holds (class size, number of classes)."""
    left, right, top, bottom = 56, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    rows = sum(size * n for size, n in histogram) or 1
    shares = [
        sum(size * n for size, n in histogram if size >= lo and (hi == 0 or size < hi)) / rows
        for lo, hi in _SIZE_BUCKETS
    ]
    slot = plot_w / len(_SIZE_BUCKETS)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT} font-size="11">',
        "<title>Share of records by the size of their equivalence class</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        'stroke="#d0d7de"/>',
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h - frac * plot_h
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#57606a">'
            f"{100 * frac:.0f}%</text>"
        )
    for i, ((lo, hi), share) in enumerate(zip(_SIZE_BUCKETS, shares, strict=True)):
        label = f"{lo}+" if hi == 0 else (str(lo) if hi == lo + 1 else f"{lo}–{hi - 1}")
        below = hi != 0 and hi - 1 < k
        x0 = left + i * slot + slot * 0.15
        bar_h = share * plot_h
        colour = "#cf222e" if below else "#0969da"
        parts.append(
            f'<rect class="{"below" if below else "bar"}" x="{x0:.1f}" '
            f'y="{top + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="{colour}"><title>classes of {_t(label)} records: {100 * share:.1f}% of '
            "records</title></rect>"
            f'<text x="{x0 + slot * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'fill="#57606a">{_t(label)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f'fill="#57606a">records in the class (red: fewer than k = {_t(k)})</text>'
        "</svg>"
    )
    return "".join(parts)
