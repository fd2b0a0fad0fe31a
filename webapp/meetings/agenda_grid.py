"""My meetings' week on the desktop as a time grid (issue #20): hours down, days across,
each meeting placed by its start and end on rows of ROW_MINUTES, meetings that overlap side
by side. Server-rendered with CSS grid (meetings/agenda.html); pure: no queries.

Each day column is a grid of its own: ROWS rows and as many columns as its overlapping
meetings need. A group of meetings that overlap one another (a cluster) shares the width
in lanes; a meeting widens over the lanes to its right that are free during its time.
Rows follow the wall clock of the viewer's zone, so on a day the clocks change the hour
skipped stays empty and the repeated hour is drawn once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

ROW_MINUTES = 5
ROWS = 24 * 60 // ROW_MINUTES
#: The grid opens scrolled here, or to the earliest meeting of the week if that is earlier.
WORK_START_HOUR = 8
#: Lanes of a day are shared exactly while their least common multiple stays this small.
MAX_COLUMNS = 24


@dataclass
class Placed:
    """A meeting (an AgendaItem) on one day of the grid."""

    item: object
    #: First row (1-based) and how many rows it spans.
    row: int
    rows: int
    #: First column (1-based) and how many columns it spans, of the day's `columns`.
    column: int
    columns: int
    #: It began on an earlier day / goes on after this one (a multi-day meeting).
    from_before: bool
    goes_on: bool


def _wall_minutes(value: datetime) -> int:
    return value.hour * 60 + value.minute


def place_day(items: list, day: date, tz) -> tuple[list[Placed], int]:
    """The day's meetings placed on its grid, and the number of columns the day has.
    items: AgendaItems overlapping the day, their start and end in tz."""
    day_start = datetime.combine(day, time(0), tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    segments = []
    for item in items:
        from_before, goes_on = item.start < day_start, item.end > day_end
        first = 0 if from_before else _wall_minutes(item.start) // ROW_MINUTES
        last = ROWS if goes_on or item.end == day_end else \
            -(-_wall_minutes(item.end) // ROW_MINUTES)
        first = min(first, ROWS - 1)
        last = min(max(last, first + 1), ROWS)  # at least one row, even when very short
        segments.append({"item": item, "first": first, "last": last,
                         "from_before": from_before, "goes_on": goes_on})
    segments.sort(key=lambda s: (s["first"], s["first"] - s["last"]))

    clusters: list[list[dict]] = []
    lane_ends: list[int] = []
    cluster_end = -1
    for seg in segments:
        if seg["first"] >= cluster_end:  # overlaps nothing before it: a new cluster
            clusters.append([])
            lane_ends = []
        cluster_end = max(cluster_end, seg["last"])
        lane = next((i for i, end in enumerate(lane_ends) if end <= seg["first"]),
                    len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(seg["last"])
        else:
            lane_ends[lane] = seg["last"]
        seg["lane"] = lane
        clusters[-1].append(seg)

    widths = [max(s["lane"] for s in c) + 1 for c in clusters]
    columns = math.lcm(1, *widths)
    if columns > MAX_COLUMNS:
        columns = max(widths)  # shared as evenly as whole columns allow
    placed = []
    for cluster, lanes in zip(clusters, widths, strict=True):
        for seg in cluster:
            # Widen over the lanes to the right that no overlapping meeting uses.
            stop = seg["lane"] + 1
            while stop < lanes and not any(
                    o["lane"] == stop and o["first"] < seg["last"] and o["last"] > seg["first"]
                    for o in cluster):
                stop += 1
            start_col = round(seg["lane"] * columns / lanes)
            end_col = round(stop * columns / lanes)
            placed.append(Placed(seg["item"], seg["first"] + 1, seg["last"] - seg["first"],
                                 start_col + 1, max(end_col - start_col, 1),
                                 seg["from_before"], seg["goes_on"]))
    return placed, columns


def grid(week: dict, tz) -> dict:
    """The agenda's week (webapp.meetings.calendar_view.agenda) as a time grid: each day's
    placed meetings and columns, the hour to open scrolled to, and the grid's rows."""
    days = []
    earliest = WORK_START_HOUR
    for day in week["days"]:
        placed, columns = place_day(day["items"], day["date"], tz)
        days.append({**day, "placed": placed, "columns": columns})
        for p in placed:
            if not p.from_before:
                earliest = min(earliest, (p.row - 1) * ROW_MINUTES // 60)
    return {"days": days, "rows": ROWS, "rows_per_hour": 60 // ROW_MINUTES,
            "scroll_hour": earliest}
