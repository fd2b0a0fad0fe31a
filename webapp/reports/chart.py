"""Geometry of the report's bar chart, drawn as SVG by reports/_chart.html.

Horizontal bars: the label above each bar, the count after it. Widths are percentages of
the chart's width and text keeps its pixel size, so the chart fits a 360 px phone and a
desktop alike without scaling the text down.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.reports.operations import Report

ROW_HEIGHT = 44
BAR_HEIGHT = 16
LABEL_BASELINE = 16
BAR_TOP = 22
#: The longest bar leaves room after it for the count.
MAX_BAR_PERCENT = 85.0
MAX_LABEL = 48


@dataclass
class ChartRow:
    label: str
    short_label: str
    count: int
    label_y: int
    bar_y: int
    count_y: int
    width_percent: float


@dataclass
class Chart:
    rows: list[ChartRow]
    height: int


def bar_chart(report: Report) -> Chart:
    largest = report.largest
    rows = []
    for index, bar in enumerate(report.bars):
        top = index * ROW_HEIGHT
        width = MAX_BAR_PERCENT * bar.count / largest if largest else 0.0
        short = bar.label if len(bar.label) <= MAX_LABEL else bar.label[:MAX_LABEL - 1] + "…"
        rows.append(ChartRow(bar.label, short, bar.count, top + LABEL_BASELINE,
                             top + BAR_TOP, top + BAR_TOP + BAR_HEIGHT - 3, round(width, 2)))
    return Chart(rows, max(len(rows) * ROW_HEIGHT, ROW_HEIGHT))
