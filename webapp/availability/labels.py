"""What the reasons a time is not free are called on pages, in the API's `label` and in
the rotation ledger (Babel: English and zh-Hant)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.availability import engine

REASONS = {
    engine.BUSY: _l("Busy"),
    engine.BUFFER: _l("Buffer between meetings"),
    engine.DAY_CAP: _l("Daily meeting limit reached"),
    engine.OUTSIDE_HOURS: _l("Outside working hours"),
    engine.NOTICE: _l("Too soon (minimum notice)"),
    engine.HORIZON: _l("Too far ahead (booking horizon)"),
    engine.DST_GAP: _l("This local time does not exist (the clocks change)"),
    "switched_off": _l("Marked unavailable in the rotation"),
    "no_seat": _l("No paid seat"),
    "calendar_unreadable": _l("Calendar not reachable: busy time unknown"),
}


def reason_label(kind: str) -> str:
    return str(REASONS.get(kind, kind))


def describe(reason: engine.Reason) -> str:
    """One reason in a few words: "Board meeting (Google calendar)" to a viewer who may
    see the title, else "Busy on Google calendar"."""
    if reason.kind != engine.BUSY:
        return reason_label(reason.kind)
    if reason.title:
        return _("%(title)s (%(calendar)s)", calendar=reason.calendar, title=reason.title)
    return _("Busy on %(calendar)s", calendar=reason.calendar)


def busy_describer():
    """describe() of a busy period, (calendar, title) -> text, with its two texts
    translated once: for a page that describes hundreds of busy periods in one request
    (the scheduler's week grid, #24). title None: the viewer may not see it."""
    titled, untitled = _("%(title)s (%(calendar)s)"), _("Busy on %(calendar)s")

    def busy(calendar: str, title: str | None) -> str:
        if title:
            return titled % {"calendar": calendar, "title": title}
        return untitled % {"calendar": calendar}
    return busy
