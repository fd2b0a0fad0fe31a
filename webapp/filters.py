"""Template filters and globals: dates in the viewer's locale and zone."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Flask, g
from flask_babel import format_date, format_time, get_locale, get_timezone, get_translations
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
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


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, **variables) -> str:
    """The templates' `_()`: what Jinja's newstyle gettext does (the translation escaped
    as Markup when autoescaping, always formatted with the variables) without its
    indirections."""
    found = translations().ugettext(string)
    if eval_ctx.autoescape:
        found = Markup(found)
    return found % variables


def _local(value: datetime, zone: str | None) -> tuple[datetime, str]:
    """value in zone (else the viewer's zone), and the page's locale."""
    tz = ZoneInfo(zone) if zone else ZoneInfo(str(get_timezone()))
    return value.astimezone(tz), str(get_locale())


@lru_cache(maxsize=64)
def _datetime_pattern(fmt: str, locale: str) -> str:
    return babel_dates.get_datetime_format(fmt, locale=locale)


def join_date_time(fmt: str, day: str, at: str, locale: str) -> str:
    """A date and a time joined as the locale joins them ("{1}, {0}" in English)."""
    return _datetime_pattern(fmt, locale).replace("{1}", day).replace("{0}", at)


# Babel parses the locale and looks its pattern up on every call (a third of a record
# page's 20 timeline items, #24). A date's text depends on the day alone and a short
# time's on its hour and minute (checked: no zone field in the pattern), so each text is
# formatted once a process and locale.

@lru_cache(maxsize=8192)
def _date_text(day: date, fmt: str, locale: str) -> str:
    return babel_dates.format_date(day, fmt, locale=locale)


@lru_cache(maxsize=16)
def _time_by_clock(fmt: str, locale: str) -> bool:
    """Whether the locale's fmt time shows nothing but the clock time (no zone, no
    seconds' fractions): then its text depends on the hour and minute alone."""
    pattern = babel_dates.get_time_format(fmt, locale=locale).pattern
    fields = set(re.sub(r"'[^']*'", "", pattern))
    return not fields & set("zZvVOXxsSA")


@lru_cache(maxsize=8192)
def _clock_text(hour: int, minute: int, fmt: str, locale: str) -> str:
    return babel_dates.format_time(datetime(2000, 1, 1, hour, minute), fmt, locale=locale)


def date_text(value: date, fmt: str, locale: str) -> str:
    """babel.dates.format_date(value, fmt, locale=locale), formatted once a day."""
    return _date_text(value if type(value) is date else value.date(), fmt, locale)


def time_text(value: datetime, fmt: str, locale: str) -> str:
    """babel.dates.format_time(value, fmt, locale=locale) of a zone-aware local time."""
    if _time_by_clock(fmt, locale):
        return _clock_text(value.hour, value.minute, fmt, locale)
    return babel_dates.format_time(value, fmt, locale=locale)


def datetime_text(value: datetime, fmt: str = "medium", zone: str | None = None) -> str:
    """The date in fmt and the time without seconds, in zone (else the viewer's)."""
    local, locale = _local(value, zone)
    return join_date_time(fmt, date_text(local, fmt, locale),
                          time_text(local, "short", locale), locale)


def span_text(start: datetime, end: datetime, zone: str | None = None,
              fmt: str = "medium") -> str:
    """start – end; the end with its date when it falls on another day."""
    local_end, locale = _local(end, zone)
    if _local(start, zone)[0].date() != local_end.date():
        return f"{datetime_text(start, fmt, zone)} – {datetime_text(end, fmt, zone)}"
    return f"{datetime_text(start, fmt, zone)} – {time_text(local_end, 'short', locale)}"


def register(app: Flask) -> None:
    """Install filters on app's Jinja environment, and the templates' gettext."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    # `_()` straight to the catalogue: Jinja's alias resolves `gettext` in the context and
    # calls it through two more context calls; a form makes about 60 of them (#24).
    app.jinja_env.globals["_"] = template_gettext

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
        # A date (not a datetime) has no zone to convert to: its text once a process
        # and locale (the week grid shows 15 a view, #21).
        if type(value) is date:
            return date_text(value, fmt, str(get_locale()))
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
