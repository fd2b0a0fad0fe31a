"""The tests' clock in a process they start (browser tests' server, `python -m worker`).

TEST_CLOCK_OFFSET (seconds, from PARLEY_TEST_CLOCK_OFFSET) moves this process's clock by
that much, ticking: `datetime.now`, `time.time` and all built on them read the same "now"
as the test process (tests/clock.py). It is honoured only when the app is testing
(PARLEY_TESTING=1, refused in production), and needs the test extras (time-machine).
"""

from __future__ import annotations

import logging
import time

from flask import Flask

log = logging.getLogger(__name__)

_travel = None


def init_app(app: Flask) -> None:
    offset = app.config.get("TEST_CLOCK_OFFSET")
    if offset is None:
        return
    if not app.testing:
        log.warning("TEST_CLOCK_OFFSET ignored: the app is not testing")
        return
    install(float(offset))


def install(offset: float) -> None:
    """Run this process's clock `offset` seconds from the machine's, ticking (idempotent)."""
    global _travel
    import time_machine

    if _travel is not None:
        _travel.stop()
    hatch = time_machine.escape_hatch
    real = hatch.time.time() if hatch.is_travelling() else time.time()
    _travel = time_machine.travel(real + offset, tick=True)
    _travel.start()
    time.time()  # a travelling clock ticks from its first reading: start it now
