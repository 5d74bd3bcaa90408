"""Charts are SVG drawn by our code: the shapes carry the values, the markup names them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from textcast.web.dashboard import charts

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own markup, the thing under test


def hidden_table(figure: ET.Element) -> list[list[str]]:
    table = figure.find("table")
    assert table is not None and table.get("class") == "visually-hidden"
    return [["".join(cell.itertext()) for cell in row] for row in table.iter("tr")]


def test_a_chart_is_an_image_named_by_its_title_and_summary() -> None:
    figure = parse(charts.bar_chart("funnel-chart", "Funnel", [charts.Bar("Sent", 3, "#000")]))
    svg = figure.find("svg")
    assert svg is not None
    assert figure.get("id") == "funnel-chart"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "funnel-chart-title funnel-chart-desc"
    assert svg.findtext("title") == "Funnel"
    assert svg.findtext("desc") == "Sent: 3"
    assert svg.find("title").get("id") == "funnel-chart-title"  # type: ignore[union-attr]


def test_bars_are_as_long_as_their_share_of_the_longest() -> None:
    bars = [
        charts.Bar("Messages", 200, charts.INK),
        charts.Bar("Delivered", 150, charts.GREEN),
        charts.Bar("Skipped", 0, charts.AMBER),
        charts.Bar("Refused", 1, charts.RED),
    ]
    figure = parse(charts.bar_chart("f", "Funnel", bars, total=200))
    rects = figure.findall("svg[1]/rect")
    widths = [float(r.get("width", "")) for r in rects]
    assert widths[1] / widths[0] == 0.75
    assert widths[2] == 0
    assert widths[3] >= 1  # still visible
    assert [r.get("fill") for r in rects] == [b.color for b in bars]
    labels = [t.text for t in figure.findall("svg[1]/text")]
    assert labels[:4] == ["Messages", "200 (100%)", "Delivered", "150 (75%)"]
    assert hidden_table(figure)[1:] == [
        ["Messages", "200 (100%)"],
        ["Delivered", "150 (75%)"],
        ["Skipped", "0 (0%)"],
        ["Refused", "1 (0.5%)"],
    ]


def test_text_is_escaped() -> None:
    markup = charts.bar_chart("f", "<b>Sale</b> & more", [charts.Bar("<script>", 1, "#000")])
    assert "<script>" not in markup and "<b>" not in markup
    assert "&lt;script&gt;" in markup and "&amp; more" in markup


def test_columns_are_as_tall_as_their_value_and_missing_ones_are_not_drawn() -> None:
    columns = [
        charts.Column("2026-05-01", 1.0, "4 of 4 delivered", tick="05-01"),
        charts.Column("2026-05-02", None),
        charts.Column("2026-05-03", 0.25, "1 of 4 delivered", tick="05-03"),
    ]
    figure = parse(
        charts.column_chart(
            "delivery-chart", "Delivery rate", columns, color=charts.GREEN, summary="Rates"
        )
    )
    rects = figure.findall("svg[1]/rect")
    assert len(rects) == 2
    heights = [float(r.get("height", "")) for r in rects]
    assert heights[1] / heights[0] == 0.25
    assert [r.findtext("title") for r in rects] == [
        "2026-05-01: 100% (4 of 4 delivered)",
        "2026-05-03: 25% (1 of 4 delivered)",
    ]
    texts = [t.text for t in figure.findall("svg[1]/text")]
    assert texts[:5] == ["0%", "25%", "50%", "75%", "100%"]
    assert "05-01" in texts and "05-03" in texts
    assert hidden_table(figure)[2] == ["2026-05-02", "no data", ""]


def test_lines_join_their_points_on_a_round_scale() -> None:
    lines = [
        charts.Line("Sent", charts.BLUE, [10, 30, 0]),
        charts.Line("Delivered", charts.GREEN, [0, 0, 0], "7 4"),
    ]
    figure = parse(
        charts.line_chart(
            "timeline-chart", "Timeline", ["10:00", "10:01", "10:02"], lines, summary="s"
        )
    )
    sent, delivered = figure.findall("svg[1]/polyline")
    points = [tuple(map(float, p.split(","))) for p in sent.get("points", "").split()]
    zero = points[2][1]
    # The scale's top is 40 (quarters of 10): 30 is three quarters of the way up.
    assert (zero - points[1][1]) / (zero - points[0][1]) == 3
    assert delivered.get("stroke-dasharray") == "7 4"
    assert [t.text for t in figure.findall("svg[1]/text")][:5] == ["0", "10", "20", "30", "40"]
    assert [c.findtext("title") for c in figure.findall("svg[1]/circle")][:2] == [
        "10:00: 10 Sent",
        "10:01: 30 Sent",
    ]
    legend = figure.find("ul")
    assert legend is not None and legend.get("aria-hidden") == "true"
    assert ["".join(li.itertext()) for li in legend] == ["Sent", "Delivered"]
    # The table lists the points with something to say.
    assert hidden_table(figure) == [
        ["", "Sent", "Delivered"],
        ["10:00", "10", "0"],
        ["10:01", "30", "0"],
    ]


def test_a_line_chart_without_points_says_so() -> None:
    lines = [charts.Line("Sent", charts.BLUE, [])]
    figure = parse(charts.line_chart("t", "Timeline", [], lines, summary="Nothing sent yet."))
    assert figure.find("svg/polyline") is None
    assert "No data yet" in [t.text for t in figure.findall("svg[1]/text")]
    assert figure.findtext("svg/desc") == "Nothing sent yet."


def test_quiet_buckets_are_zeros_on_the_time_axis() -> None:
    points = [(T0, (3, 0)), (T0 + timedelta(minutes=3), (1, 2))]
    axis = charts.time_buckets(points, 2, 60)
    assert axis.seconds == 60
    assert axis.labels == ["10:00", "10:01", "10:02", "10:03"]
    assert axis.totals == [[3, 0, 0, 1], [0, 0, 0, 2]]


def test_the_labels_follow_the_bucket() -> None:
    seconds = charts.time_buckets([(T0, (1,)), (T0 + timedelta(seconds=10), (1,))], 1, 5)
    assert seconds.labels == ["10:00:00", "10:00:05", "10:00:10"]
    assert seconds.totals == [[1, 0, 1]]
    # Over days, labels carry the date; buckets of a day are dates.
    across = charts.time_buckets([(T0, (1,)), (T0 + timedelta(days=1), (1,))], 1, 900)
    assert across.labels[0] == "05-01 10:00" and len(across.labels) == 97
    midnight = T0.replace(hour=0)
    days = charts.time_buckets([(midnight, (1,)), (midnight + timedelta(days=2), (2,))], 1, 86400)
    assert days.labels == ["2026-05-01", "2026-05-02", "2026-05-03"]


def test_buckets_in_words() -> None:
    words = [charts.bucket_words(s) for s in (1, 5, 60, 900, 3600, 10800, 86400)]
    assert words == ["second", "5 seconds", "minute", "15 minutes", "hour", "3 hours", "day"]


def test_every_chart_is_drawn_narrow_and_wide_to_fill_its_card() -> None:
    figure = parse(charts.bar_chart("f", "Funnel", [charts.Bar("Sent", 3, "#000")]))
    narrow, wide = figure.findall("svg")
    assert narrow.get("class") == "chart chart-narrow" and narrow.get("viewBox") == "0 0 420 38"
    assert wide.get("class") == "chart chart-wide" and wide.get("viewBox") == "0 0 960 38"
    assert wide.get("aria-labelledby") == "f-wide-title f-wide-desc"
    assert wide.findtext("title") == "Funnel"
    # No fixed size: the style sheet makes them as wide as their card.
    assert narrow.get("width") is None and wide.get("width") is None


def test_no_points_make_an_empty_axis() -> None:
    axis = charts.time_buckets([], 3, 60)
    assert (axis.starts, axis.labels, axis.totals) == ([], [], [[], [], []])
