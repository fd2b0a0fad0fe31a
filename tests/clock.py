"""The tests' clock: one "now" for the test process and every server it starts.

Every test runs on the `clock` fixture (conftest.py at the repository root): time-machine
moves `datetime.now`, `time.time` and everything built on them to a fixed moment, by
default a Wednesday at 10:30 in New York, and lets it tick from there. A test moves it
with `clock.move_to(...)` / `clock.shift(...)` instead of patching `utcnow` module by module.

`PARLEY_TEST_NOW` sets the whole run's "now": an ISO datetime with its offset, or one of
the names in EDGES (e.g. `PARLEY_TEST_NOW=sunday-2345`); CI runs one such pass.
`@clock_edges` runs a test once at each edge the hour of day once exposed.

Processes the tests start (gunicorn for the browser tests, `python -m worker`) read the
same clock through PARLEY_TESTING=1 and PARLEY_TEST_CLOCK_OFFSET (`server_env()`),
honoured by the app only when it is testing (webapp/testclock.py).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

NEW_YORK = ZoneInfo("America/New_York")

#: A weekday mid-morning in New York: far from midnight, from a weekend and from a DST change.
DEFAULT_NOW = datetime(2026, 6, 10, 10, 30, tzinfo=NEW_YORK)  # Wednesday

#: The moments where "today", "this week" and "in an hour" are easy to get wrong.
EDGES = {
    # Late evening: in an hour it is tomorrow; in UTC it is already tomorrow.
    "late-evening": datetime(2026, 6, 10, 23, 30, tzinfo=NEW_YORK),
    # Sunday 23:45: the last minutes of the week (weeks start on Monday).
    "sunday-2345": datetime(2026, 6, 14, 23, 45, tzinfo=NEW_YORK),
    # Spring forward (Sunday 8 March 2026): 02:00 EST becomes 03:00 EDT; the day has 23 hours.
    "spring-forward": datetime(2026, 3, 8, 1, 45, tzinfo=NEW_YORK),
    # Fall back (Sunday 1 November 2026): 01:00-02:00 happens twice; this is the first one.
    "fall-back": datetime(2026, 11, 1, 1, 30, fold=0, tzinfo=NEW_YORK),
    # New Year's Eve 23:50: the year changes in ten minutes; in UTC it already has.
    "new-year-eve": datetime(2026, 12, 31, 23, 50, tzinfo=NEW_YORK),
}


def run_now() -> datetime:
    """The run's "now": PARLEY_TEST_NOW (an EDGES name or an ISO datetime), else DEFAULT_NOW."""
    value = os.environ.get("PARLEY_TEST_NOW", "").strip()
    if not value:
        return DEFAULT_NOW
    if value in EDGES:
        return EDGES[value]
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"PARLEY_TEST_NOW={value!r} needs an offset (e.g. -05:00) or a name "
                         f"of {sorted(EDGES)}")
    return when


def real_now() -> datetime:
    """The machine's own clock, even while travelling."""
    hatch = time_machine.escape_hatch
    return datetime.fromtimestamp(
        hatch.time.time() if hatch.is_travelling() else time.time(), UTC)


def server_env() -> dict[str, str]:
    """Environment for a process under test that must read the test's clock from now on."""
    offset = (datetime.now(UTC) - real_now()).total_seconds()
    return {"PARLEY_TESTING": "1", "PARLEY_TEST_CLOCK_OFFSET": repr(offset)}


class Clock:
    """The test's "now". It ticks (move_to(..., tick=False) stops it); moving it never
    patches a module."""

    def __init__(self, start: datetime, tick: bool = True):
        self.start = start
        self._travel = time_machine.travel(start.astimezone(UTC), tick=tick)
        self._traveller = self._travel.start()
        time.time()  # a travelling clock ticks from its first reading: start it now

    def now(self) -> datetime:
        """Now, aware, in UTC (what webapp.types.utcnow() returns)."""
        return datetime.now(UTC)

    def move_to(self, when: datetime, tick: bool | None = None) -> None:
        if when.tzinfo is None:
            raise ValueError("the clock takes aware datetimes")
        self._traveller.move_to(when.astimezone(UTC), tick=tick)

    def shift(self, delta: timedelta) -> None:
        self.move_to(self.now() + delta)

    def stop(self) -> None:
        self._travel.stop()


#: The "now"s the whole suite must pass at (CI runs one each time, `make test-shifted`).
SHIFTED_RUNS = ["sunday-2345", "spring-forward", "fall-back", "new-year-eve"]


def edge_of_the_day() -> str:
    """One of SHIFTED_RUNS, a different one each day (CI's shifted pass rotates)."""
    from datetime import date
    return SHIFTED_RUNS[date.today().toordinal() % len(SHIFTED_RUNS)]


#: Run a test at the run's usual now and once at each edge: `@clock_edges` above the test.
clock_edges = pytest.mark.parametrize("clock", ["usual-now", *EDGES], indirect=True)


if __name__ == "__main__":
    print(edge_of_the_day())
