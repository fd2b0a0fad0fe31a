"""Template filters and globals: dates in the viewer's locale and zone."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Flask, g
from flask_babel import format_date, format_time, get_locale, get_timezone, get_translations
from markupsafe import Markup, escape

from webapp.validation import canonical_timezone

URL_RE = re.compile(r"(https?://[^\s<>\"']+)")


def linkify(text: str | None) -> Markup:
    """Escape plain text and turn http(s) URLs into links."""
    escaped = str(escape(text or ""))
    return Markup(URL_RE.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped))


def translations():
    """Flask-Babel's translations for this context, looked up once per locale.

    Flask-Babel resolves locale and domain through several context-local lookups on every
    `_()`, and a record page makes about 280 of them (docs/PERFORMANCE.md). The result is
    kept on Babel's own per-context namespace, keyed by the Locale object itself, so
    force_locale() and refresh() (which replace or clear it) still take effect.
    """
    ctx = getattr(g, "_flask_babel", None) if g else None
    locale = getattr(ctx, "babel_locale", None)
    if locale is None:
        return get_translations()
    domain = getattr(ctx, "babel_domain", None)
    cached = getattr(ctx, "parley_translations", None)
    if cached is not None and cached[0] is locale and cached[1] is domain:
        return cached[2]
    found = get_translations()
    ctx.parley_translations = (locale, domain, found)
    return found


def _local(value: datetime, zone: str | None) -> tuple[datetime, str]:
    """value in zone (else the viewer's zone), and the page's locale."""
    tz = ZoneInfo(zone) if zone else ZoneInfo(str(get_timezone()))
    return value.astimezone(tz), str(get_locale())


def join_date_time(fmt: str, day: str, at: str, locale: str) -> str:
    """A date and a time joined as the locale joins them ("{1}, {0}" in English)."""
    pattern = babel_dates.get_datetime_format(fmt, locale=locale)
    return pattern.replace("{1}", day).replace("{0}", at)


def datetime_text(value: datetime, fmt: str = "medium", zone: str | None = None) -> str:
    """The date in fmt and the time without seconds, in zone (else the viewer's)."""
    local, locale = _local(value, zone)
    return join_date_time(fmt, babel_dates.format_date(local, fmt, locale=locale),
                 babel_dates.format_time(local, "short", locale=locale), locale)


def span_text(start: datetime, end: datetime, zone: str | None = None,
              fmt: str = "medium") -> str:
    """start – end; the end with its date when it falls on another day."""
    local_end, locale = _local(end, zone)
    if _local(start, zone)[0].date() != local_end.date():
        return f"{datetime_text(start, fmt, zone)} – {datetime_text(end, fmt, zone)}"
    return f"{datetime_text(start, fmt, zone)} – " \
        f"{babel_dates.format_time(local_end, 'short', locale=locale)}"


def register(app: Flask) -> None:
    """Install filters on app's Jinja environment, and the templates' gettext."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)

    @app.template_filter("dt")
    def dt(value: datetime | None, fmt: str = "medium") -> str:
        """Date and time in the viewer's zone: the date in fmt, the time never with its
        seconds ("Dec 23, 2026, 9:00 AM", not Babel's medium "9:00:00 AM")."""
        return datetime_text(value, fmt) if value else ""

    @app.template_filter("when")
    def when(start: datetime | None, end: datetime | None, zone: str | None = None,
             fmt: str = "medium") -> str:
        """A meeting's time span: "Dec 23, 2026, 9:00 AM – 5:00 PM", with the end's date
        when it ends on another day ("Dec 23, 2026, 9:00 AM – Dec 25, 2026, 5:00 PM"), in
        zone (else the viewer's)."""
        return span_text(start, end, zone, fmt) if start and end else ""

    @app.template_filter("d")
    def d(value, fmt: str = "medium") -> str:
        return format_date(value, fmt) if value else ""

    @app.template_filter("t")
    def t(value: datetime | None, fmt: str = "short") -> str:
        return format_time(value, fmt) if value else ""

    app.add_template_filter(linkify, "linkify")
    from webapp.validation import timezone_options
    app.jinja_env.globals["timezone_options"] = timezone_options
    # A stored zone as the pickers name it (Asia/Calcutta is offered as Asia/Kolkata).
    app.add_template_filter(lambda zone: canonical_timezone(zone) or zone, "canonical_zone")

    # For pages seen by people who are not logged in (RSVP): a zone of the page's choosing,
    # not the viewer's, which Flask-Babel's own filters would apply.
    @app.template_filter("dt_in")
    def dt_in(value: datetime | None, zone: str, fmt: str = "medium") -> str:
        # Date and time without the zone's long name (tz data swaps Europe/Dublin's);
        # the page shows the zone id beside it.
        return datetime_text(value, fmt, zone) if value else ""

    @app.template_filter("gmt_in")
    def gmt_in(value: datetime | None, zone: str) -> str:
        """The UTC offset in force at value in zone ("GMT-05:00"): tells the two times of
        the repeated hour apart when the clocks go back."""
        return babel_dates.get_timezone_gmt(value.astimezone(ZoneInfo(zone)), "long",
                                            locale=str(get_locale())) if value else ""

    @app.template_filter("t_in")
    def t_in(value: datetime | None, zone: str, fmt: str = "short") -> str:
        return babel_dates.format_time(value, fmt, tzinfo=ZoneInfo(zone),
                                       locale=str(get_locale())) if value else ""
