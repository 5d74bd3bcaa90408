"""Charts as inline SVG, drawn here and sent with the page: no script, no library, no request.

Every chart is a <figure> holding an SVG (role="img", named by its <title> and <desc>) and the
same numbers in a visually hidden table, for screen readers. The SVG scales with its viewBox
to the width of its card; colours are presentation attributes with at least 3:1 contrast on
white, and lines also differ by their dashes, so colour is never the only cue.

Each chart is drawn twice, to the same scale of text: a narrow picture (420-480 units) that a
phone or a middle-sized window shows, and a wide one (`WIDE`) for wide windows, so that the
chart fills its card without its text growing huge or shrinking out of legibility. The style
sheet shows one of the two (`chart-narrow`, `chart-wide`); the other is not displayed, so it is
neither seen nor read out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

INK = "#424a53"
BLUE = "#0a58ca"
GREEN = "#1a7f37"
RED = "#cf222e"
GREY = "#6e7781"
AMBER = "#9a6700"
PURPLE = "#8250df"
GRID = "#d0d7de"
AXIS = "#8c959f"
WIDE = 960
"""Width of the wide pictures, in units; a wide window's card shows them at about 1:1."""
MAX_MARKERS = 64
"""Lines with more points than this are drawn without a marker (and tooltip) per point; a
campaign's timeline (at most 61 buckets) always has them."""


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    color: str


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    """The column's full name, for its tooltip and the table."""
    value: float | None
    """None: no data (no column drawn), unlike 0."""
    detail: str = ""
    """What the value is made of, e.g. `19 of 20`."""
    tick: str | None = None
    """Written under the axis; None for most columns, so that labels never collide."""


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    color: str
    values: Sequence[int]
    dash: str | None = None
    """An SVG stroke-dasharray."""


@dataclass(frozen=True, slots=True)
class TimeBuckets:
    seconds: int
    """Width of each bucket."""
    starts: list[datetime]
    totals: list[list[int]]
    """Per series, one total per bucket."""
    labels: list[str]


Drawing = tuple[int, list[Markup]]
"""A picture's height and its shapes, drawn for a given width."""


def bar_chart(
    chart_id: str, title: str, bars: Sequence[Bar], *, total: int | None = None
) -> Markup:
    """Horizontal bars, each with its value (and its share of `total`, when given)."""
    label_w, value_w, row_h, bar_h = 124, 112, 30, 18
    top = max((b.value for b in bars), default=0)

    def value_text(bar: Bar) -> str:
        text = f"{bar.value:,}"
        return f"{text} ({_percent(bar.value / total)})" if total else text

    def draw(width: int) -> Drawing:
        area = width - label_w - value_w
        shapes = []
        for n, bar in enumerate(bars):
            y = 4 + n * row_h
            length = area * bar.value / top if top else 0.0
            length = max(length, 1.0) if bar.value else 0.0
            shapes.append(
                Markup(
                    '<text x="{}" y="{}" text-anchor="end" dy="0.35em">{}</text>'
                    '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}">'
                    "<title>{}: {}</title></rect>"
                    '<text x="{}" y="{}" dy="0.35em">{}</text>'
                ).format(
                    label_w - 8,
                    _num(y + row_h / 2),
                    bar.label,
                    label_w,
                    _num(y + (row_h - bar_h) / 2),
                    _num(length),
                    bar_h,
                    bar.color,
                    bar.label,
                    value_text(bar),
                    _num(label_w + length + 6),
                    _num(y + row_h / 2),
                    value_text(bar),
                )
            )
        return max(len(bars), 1) * row_h + 8, shapes

    summary = "; ".join(f"{b.label}: {value_text(b)}" for b in bars) or "No data yet."
    table = _table(
        title, ["", "Value"], [[b.label, value_text(b)] for b in bars], header_column=True
    )
    return _figure(chart_id, title, summary, draw, table, narrow=420)


def column_chart(
    chart_id: str,
    title: str,
    columns: Sequence[Column],
    *,
    color: str,
    summary: str,
    headers: tuple[str, str, str] = ("", "Value", ""),
    y_max: float = 1.0,
    y_format: Callable[[float], str] | None = None,
) -> Markup:
    """Vertical columns over a fixed scale, 0 to `y_max` (a rate as a percentage, by default)."""
    y_format = y_format or _percent

    def draw(width: int) -> Drawing:
        height, left, right, top, bottom = 200, 44, 8, 12, 28
        plot_w, plot_h = width - left - right, height - top - bottom
        shapes = _y_grid(width, left, right, top, plot_h, y_max, y_format)
        slot = plot_w / max(len(columns), 1)
        for n, column in enumerate(columns):
            x = left + n * slot
            if column.value is not None:
                h = plot_h * min(column.value, y_max) / y_max
                tooltip = f"{column.label}: {y_format(column.value)}"
                tooltip += f" ({column.detail})" if column.detail else ""
                shapes.append(
                    Markup(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}</title></rect>"
                    ).format(
                        _num(x + slot * 0.15),
                        _num(top + plot_h - h),
                        _num(slot * 0.7),
                        _num(h),
                        color,
                        tooltip,
                    )
                )
            if column.tick is not None:
                # The outermost labels end at the picture's edges instead of crossing them.
                anchor, label_x = "middle", x + slot / 2
                if n == len(columns) - 1:
                    anchor, label_x = "end", x + slot
                elif n == 0:
                    anchor, label_x = "start", x
                shapes.append(_x_tick(x + slot / 2, top + plot_h, column.tick, anchor, label_x))
        return height, shapes

    rows = [
        [c.label, "no data" if c.value is None else y_format(c.value), c.detail] for c in columns
    ]
    table = _table(title, list(headers), rows, header_column=True)
    return _figure(chart_id, title, summary, draw, table, narrow=480)


def line_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    lines: Sequence[Line],
    *,
    summary: str,
    x_header: str = "",
) -> Markup:
    """Lines over evenly spaced points, from 0 to a round maximum; a legend names them."""
    count = len(x_labels)
    y_max = _round_up(max((max(line.values, default=0) for line in lines), default=0))

    def draw(width: int) -> Drawing:
        height, left, right, top, bottom = 220, 56, 8, 12, 28
        plot_w, plot_h = width - left - right, height - top - bottom
        shapes = _y_grid(width, left, right, top, plot_h, y_max, lambda v: f"{v:,.0f}")

        def x_at(index: int) -> float:
            return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

        def y_at(value: int) -> float:
            return top + plot_h - plot_h * value / y_max

        # A wide picture has room for more labels than a narrow one.
        for index in _tick_indices(count, 5 if width < WIDE else 9):
            # The outermost labels lean inwards, so that long ones stay inside the picture.
            anchor = "start" if index == 0 and count > 1 else "middle"
            anchor = "end" if index == count - 1 and count > 1 else anchor
            shapes.append(_x_tick(x_at(index), top + plot_h, x_labels[index], anchor))
        if not count:
            shapes.append(
                Markup('<text x="{}" y="{}" text-anchor="middle">No data yet</text>').format(
                    _num(left + plot_w / 2), _num(top + plot_h / 2)
                )
            )
        for line in lines if count else ():  # nothing to draw without points
            points = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, v in enumerate(line.values))
            shapes.append(
                Markup(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" '
                    'stroke-linejoin="round"{}/>'
                ).format(points, line.color, _dash(line.dash))
            )
            if count <= MAX_MARKERS:
                shapes.extend(
                    Markup(
                        '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} {}</title></circle>'
                    ).format(
                        _num(x_at(i)), _num(y_at(v)), line.color, x_labels[i], f"{v:,}", line.name
                    )
                    for i, v in enumerate(line.values)
                )
        return height, shapes

    rows = [
        [label, *(f"{line.values[i]:,}" for line in lines)]
        for i, label in enumerate(x_labels)
        if any(line.values[i] for line in lines)
    ]
    table = _table(title, [x_header, *(line.name for line in lines)], rows, header_column=True)
    legend = _legend(lines)
    return _figure(chart_id, title, summary, draw, legend + table, narrow=480)


def time_buckets(
    points: Sequence[tuple[datetime, Sequence[int]]], series: int, seconds: int
) -> TimeBuckets:
    """Totals per bucket of `seconds` (quiet buckets left out, as the analytics give them) on
    a regular axis from the first bucket to the last: quiet buckets are 0."""
    if not points:
        return TimeBuckets(seconds, [], [[] for _ in range(series)], [])
    origin = points[0][0].astimezone(UTC)
    count = int((points[-1][0].astimezone(UTC) - origin).total_seconds() // seconds) + 1
    totals = [[0] * count for _ in range(series)]
    for moment, values in points:
        index = int((moment.astimezone(UTC) - origin).total_seconds() // seconds)
        for s, value in enumerate(values):
            totals[s][index] += value
    starts = [origin + timedelta(seconds=seconds * n) for n in range(count)]
    return TimeBuckets(seconds, starts, totals, _time_labels(starts, seconds))


def bucket_words(seconds: int) -> str:
    """`second`, `5 seconds`, `minute`, `15 minutes`, `hour`, `day`... for `per ...`."""
    for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds % unit == 0:
            n = seconds // unit
            return name if n == 1 else f"{n} {name}s"
    return f"{seconds} seconds"  # pragma: no cover - every width is a whole number of seconds


def _time_labels(starts: Sequence[datetime], seconds: int) -> list[str]:
    if seconds >= 86400:
        pattern = "%Y-%m-%d"
    else:
        pattern = "%H:%M:%S" if seconds < 60 else "%H:%M"
        if starts[0].date() != starts[-1].date():
            pattern = "%m-%d " + pattern
    return [s.strftime(pattern) for s in starts]


# -- shared pieces ----------------------------------------------------------------------------


def _figure(
    chart_id: str,
    title: str,
    summary: str,
    draw: Callable[[int], Drawing],
    after: Markup,
    *,
    narrow: int,
) -> Markup:
    pictures = []
    for width, kind, suffix in ((narrow, "narrow", ""), (WIDE, "wide", "-wide")):
        height, shapes = draw(width)
        pictures.append(
            Markup(
                '<svg class="chart chart-{kind}" viewBox="0 0 {w} {h}" role="img" '
                'aria-labelledby="{id}-title {id}-desc" focusable="false">'
                '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
                "{shapes}</svg>"
            ).format(
                kind=kind,
                id=chart_id + suffix,
                w=width,
                h=height,
                title=title,
                summary=summary,
                shapes=Markup("").join(shapes),
            )
        )
    return Markup('<figure class="chart-figure" id="{id}">{pictures}{after}</figure>').format(
        id=chart_id, pictures=Markup("").join(pictures), after=after
    )


def _table(
    caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, header_column: bool
) -> Markup:
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in headers)
    row_header, cell = Markup('<th scope="row">{}</th>'), Markup("<td>{}</td>")
    body = []
    for row in rows:
        cells = [
            (row_header if header_column and n == 0 else cell).format(value)
            for n, value in enumerate(row)
        ]
        body.append(Markup("<tr>{}</tr>").format(Markup("").join(cells)))
    return Markup(
        '<table class="visually-hidden"><caption>{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
    ).format(caption, head, Markup("").join(body))


def _legend(lines: Sequence[Line]) -> Markup:
    items = (
        Markup(
            '<li><svg class="legend-line" viewBox="0 0 24 8" aria-hidden="true" '
            'focusable="false"><line x1="0" y1="4" x2="24" y2="4" stroke="{}" '
            'stroke-width="3"{}/></svg>{}</li>'
        ).format(line.color, _dash(line.dash), line.name)
        for line in lines
    )
    return Markup('<ul class="legend" aria-hidden="true">{}</ul>').format(Markup("").join(items))


def _y_grid(
    width: int,
    left: int,
    right: int,
    top: int,
    plot_h: int,
    y_max: float,
    y_format: Callable[[float], str],
) -> list[Markup]:
    shapes = []
    for step in range(5):
        value = y_max * step / 4
        y = top + plot_h - plot_h * step / 4
        shapes.append(
            Markup(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="end" dy="0.35em">{}</text>'
            ).format(
                left,
                _num(y),
                width - right,
                _num(y),
                AXIS if step == 0 else GRID,
                left - 6,
                _num(y),
                y_format(value),
            )
        )
    return shapes


def _x_tick(
    x: float, axis_y: float, label: str, anchor: str = "middle", label_x: float | None = None
) -> Markup:
    return Markup(
        '<line x1="{x}" y1="{y}" x2="{x}" y2="{y2}" stroke="{c}" stroke-width="1"/>'
        '<text x="{tx}" y="{ty}" text-anchor="{anchor}">{label}</text>'
    ).format(
        x=_num(x),
        tx=_num(x if label_x is None else label_x),
        y=_num(axis_y),
        y2=_num(axis_y + 4),
        c=AXIS,
        ty=_num(axis_y + 18),
        anchor=anchor,
        label=label,
    )


def _tick_indices(count: int, most: int = 5) -> list[int]:
    """Up to `most` evenly spread indices, first and last included."""
    if count <= most:
        return list(range(count))
    return sorted({round(n * (count - 1) / (most - 1)) for n in range(most)})


def _round_up(value: float) -> int:
    """A maximum of at least `value` whose quarters (the grid) are round whole numbers."""
    scale = 1
    while True:
        for m in (1, 2, 2.5, 5):
            step = m * scale
            if step >= value / 4 and step == int(step):
                return 4 * int(step)
        scale *= 10


def _dash(dash: str | None) -> Markup:
    return Markup(' stroke-dasharray="{}"').format(dash) if dash else Markup("")


def _num(value: float) -> str:
    """Coordinates with one decimal at most: short markup, no visible loss."""
    return f"{value:.1f}".removesuffix(".0")


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%".replace(".0%", "%")
