"""Chart steps drawn on the server as inline SVG: no script, no network, prints as it shows.

A WSJF chart has series of `;`-separated x and y values; chart types with `LogX`/`LogY` use a
logarithmic axis (when every value on it is positive).
"""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 560, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 44
COLOURS = ("#0b5cad", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085")
TICKS = 5
MAX_MARKED_POINTS = 50  # a dot on each reading while they are few enough to see


def _values(text: object) -> list[float]:
    out = []
    for part in str(text or "").split(";"):
        try:
            value = float(part)
        except ValueError:
            continue
        out.append(value)  # NaN and infinite readings stay, to keep x and y paired
    return out


def _pairs(xdata: object, ydata: object) -> list[tuple[float, float]]:
    """The finite (x, y) points of a series; without x values, y is drawn against 0, 1, ..."""
    ys = _values(ydata)
    xs = _values(xdata) if xdata not in (None, "") else [float(i) for i in range(len(ys))]
    return [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(x) and math.isfinite(y)]


def _tick(value: float) -> str:
    return f"{value:.6g}"


class _Axis:
    def __init__(self, values: list[float], log: bool, start: float, length: float) -> None:
        self.log = log and all(v > 0 for v in values)
        data = [math.log10(v) for v in values] if self.log else values
        low, high = (min(data), max(data)) if data else (0.0, 1.0)
        if low == high:
            low, high = low - 1, high + 1
        self.low, self.high, self.start, self.length = low, high, start, length

    def place(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.low) / (self.high - self.low) * self.length

    def ticks(self) -> list[float]:
        if self.log:
            return [10**e for e in range(math.floor(self.low), math.ceil(self.high) + 1)]
        # round steps (1, 2 or 5 times a power of ten), as a person would mark an axis
        raw = (self.high - self.low) / (TICKS - 1)
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
        first = math.ceil(self.low / step) * step
        count = int((self.high - first) / step + 1e-9) + 1
        return [first + i * step for i in range(count)]


def chart_svg(chart: dict[str, Any]) -> str:
    """An SVG drawing of a WSJF chart (every text in it escaped)."""
    series = [
        # a series with fewer y than x values draws the pairs it has
        (str(s.get("name", "")), _pairs(s.get("xdata"), s.get("ydata")))
        for s in chart.get("series") or []
    ]
    points = [p for _, pts in series for p in pts]
    kind = str(chart.get("chartType", "")).lower()
    x_axis = _Axis(
        [x for x, _ in points], "logx" in kind or "logxy" in kind, LEFT, WIDTH - LEFT - RIGHT
    )
    y_axis = _Axis(
        [y for _, y in points], "logy" in kind or "logxy" in kind, 0, HEIGHT - TOP - BOTTOM
    )

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - (y_axis.place(value) - y_axis.start)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(str(chart.get("label", "chart")), {chr(34): "&quot;"})}">',
        f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" class="title">'
        f"{escape(str(chart.get('label', '')))}</text>",
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="none" stroke="#999"/>',
    ]
    for tick in x_axis.ticks():
        x = x_axis.place(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
            f"{_tick(tick)}</text>"
        )
    for tick in y_axis.ticks():
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(tick)}</text>'
        )
    for i, (name, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        drawn = " ".join(
            f"{x_axis.place(x):.1f},{y_of(y):.1f}" for x, y in pts if _fits(x, y, x_axis, y_axis)
        )
        parts.append(
            f'<polyline class="series" points="{drawn}" fill="none" stroke="{colour}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )
        if len(pts) <= MAX_MARKED_POINTS:
            parts += [
                f'<circle cx="{x_axis.place(x):.1f}" cy="{y_of(y):.1f}" r="3" fill="{colour}"/>'
                for x, y in pts
                if _fits(x, y, x_axis, y_axis)
            ]
        parts.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 14 + 14 * i}" text-anchor="end" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    x_label = " ".join(str(p) for p in (chart.get("xLabel"), _unit(chart.get("xUnit"))) if p)
    y_label = " ".join(str(p) for p in (chart.get("yLabel"), _unit(chart.get("yUnit"))) if p)
    parts.append(
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(14 {TOP + (HEIGHT - TOP - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text></svg>'
    )
    return "".join(parts)


def _unit(unit: object) -> str | None:
    return f"({unit})" if unit else None


def _fits(x: float, y: float, x_axis: _Axis, y_axis: _Axis) -> bool:
    return (x > 0 or not x_axis.log) and (y > 0 or not y_axis.log)
