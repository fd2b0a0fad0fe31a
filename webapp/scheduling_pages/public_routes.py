"""The public booking page /book/<slug> and the visitor's manage page /book/manage/<token>.

No login and no session: everything the visitor chose (zone, language, month, day,
duration, the slot) travels in the query string, so the pages work as plain GET forms
without JavaScript, inside another site's <iframe> (where the session cookie is not sent)
and from a bookmarked link. With htmx, the month, day and slot choices replace only the
picker (`#booking-picker`) and push their URL. The forms that change something carry the
signed form token of webapp.scheduling_pages.formtoken, not the session's CSRF token.

Thin: webapp.booking's operations book, reschedule and cancel; these views parse, call,
commit, and render.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from flask import abort, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from webapp import headers
from webapp.booking import operations as booking_ops
from webapp.booking import slots as booking_slots
from webapp.extensions import csrf, db
from webapp.localcache import LocalCache
from webapp.scheduling_pages import bp, embedding, formtoken
from webapp.scheduling_pages import calendar as cal
from webapp.types import utcnow

PICKER = "booking-picker"
#: What a form may send, at most (the domain checks each answer's own limit).
MAX_FIELD = 2000


def _lang() -> str | None:
    return cal.visitor_lang(request.values.get("lang"))


#: The choices a link keeps when the visitor switches language.
KEPT = ("zone", "duration", "month", "day", "start", "cancel", "booked", "done")


def _switch_url(path: str) -> str:
    """This page in the other language, with the visitor's choices."""
    other = "en" if str(get_locale()) == "zh_Hant" else "zh_Hant"
    args = {k: request.values[k] for k in KEPT if request.values.get(k)}
    return f"{path}?{urlencode({**args, 'lang': other})}"


def _render(template: str, status: int = 200, **context):
    """Render in the visitor's chosen language (else the browser's: the answer varies with
    Accept-Language)."""
    lang = _lang()
    path = context.get("target")
    # Both named here: the app adds "Vary: HX-Request" as a second header, and the
    # session's "Cookie" is merged into the first one only, dropping the second.
    headers = {"Vary": "Accept-Language, HX-Request"}
    if lang:
        with force_locale(lang):
            return render_template(template, lang=lang, switch_url=path and _switch_url(
                path), **context), status, headers
    return render_template(template, lang=None, switch_url=path and _switch_url(path),
                           **context), status, headers


class TooMany(Exception):
    """The visitor's address went over the public pages' rate limit."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _limit() -> None:
    """The per-address limit of the public endpoints: what books, reschedules or cancels
    counts with the JSON API's (webapp.booking's over_limit, BOOKING_RATE_LIMIT a minute);
    pages that only show times may be loaded five times as often."""
    from flask import current_app

    from webapp.api import ratelimit
    if request.method == "POST":
        retry_after = booking_ops.over_limit(request.remote_addr)
    else:
        allowed, retry_after = ratelimit.hit(f"book-view:{request.remote_addr}",
                                             current_app.config["BOOKING_RATE_LIMIT"] * 5)
        retry_after = None if allowed else retry_after
    if retry_after is not None:
        raise TooMany(retry_after)


@bp.errorhandler(TooMany)
def _too_many(exc: TooMany):
    body, status, headers = _render(
        "scheduling_pages/notice.html", 429, title=_l("Too many requests"),
        message=_l("Too many requests came from your address. Please wait a minute and try "
                   "again."))
    return body, status, {**headers, "Retry-After": str(exc.retry_after)}


def not_found():
    """The one answer for an unknown slug, a paused page and an unknown manage link."""
    return _render("scheduling_pages/notice.html", 404, title=_l("Page not found"),
                   message=_l("There is no booking page at this address, or it is not "
                              "taking bookings now. Check the link you were given."))


def _frame(account_id: int) -> None:
    headers.allow_framing(embedding.frame_ancestors(embedding.origins_of(account_id)))


def _first_weekday() -> int:
    lang = _lang()
    if lang:
        with force_locale(lang):
            return get_locale().first_week_day
    return get_locale().first_week_day


def _durations(page) -> list[int]:
    return [int(d) for d in page.durations or [30]] or [30]


def _host_zone(page) -> str:
    owner = page.owner
    return owner.zone if owner is not None else "UTC"


def month_slots(page, first, last, zone: str, duration: int, now, hosts,
                exclude_meeting: int | None = None) -> list:
    """The page's free starts on the visitor's days first..last (webapp.booking's
    free_slots), computed at every view: the calendars' busy time comes from the busy
    cache (#21). A booking checks its slot again under the hosts' locks."""
    return list(booking_slots.free_slots(page, first, last, zone, duration, now=now,
                                         hosts=hosts, exclude_meeting=exclude_meeting))


#: The free starts by the visitor's day, by the starts and the zone (read only).
DAYS = LocalCache(256)


def _days(found: tuple, zone: str) -> dict:
    days = DAYS.get((found, zone))
    if days is None:
        days = booking_slots.by_day(found, zone)
        DAYS.put((found, zone), days, 3600)
    return days


class Picker:
    """What the month / day / slot picker shows for a page, from the query string (or the
    posted form): the visitor's zone and duration, the month, its free days, the chosen
    day's slots and the chosen slot."""

    def __init__(self, page, values, hosts, now=None, zone_fallback: str | None = None,
                 exclude_meeting: int | None = None):
        now = now or utcnow()
        self.page = page
        self.detect = not values.get("zone")
        self.zone = cal.visitor_zone(values.get("zone"), zone_fallback or _host_zone(page))
        durations = _durations(page)
        self.durations = durations
        self.duration = cal.choose_duration(values.get("duration"), durations)
        today = now.astimezone(cal.ZoneInfo(self.zone)).date()
        self.today = today
        start = cal.parse_instant(values.get("start"))
        chosen_day = cal.parse_day(values.get("day")) or (
            start.astimezone(cal.ZoneInfo(self.zone)).date() if start else None)
        month = cal.parse_month(values.get("month")) or (chosen_day.replace(day=1)
                                                         if chosen_day else None)
        self.window = cal.window(month, today, page.horizon_days)
        first = self.window.month
        last = cal.add_months(first, 1) - timedelta(days=1)
        found = month_slots(page, max(first, today), last, self.zone, self.duration, now,
                            hosts, exclude_meeting) if last >= today else []
        #: The free starts shown (what a kept rendering of the picker is keyed by).
        self.found = tuple(found)
        self.days = _days(self.found, self.zone)
        self.day = chosen_day if chosen_day in self.days else None
        self.slots = self.days.get(self.day, []) if self.day else []
        self.start = start if start is not None and start in self.slots else None
        #: A slot asked for that is not free (taken since, or never was).
        self.gone = start is not None and self.start is None
        first_weekday = _first_weekday()
        self.grid = cal.month_grid(first, set(self.days), self.day, today, first_weekday)
        self.weekdays = cal.weekday_order(first_weekday)

    def params(self, **changes) -> dict:
        """The query string of a link that changes some choices (None drops one)."""
        out = {"zone": self.zone, "duration": self.duration if len(self.durations) > 1
               else None, "month": self.window.month.strftime("%Y-%m"),
               "day": self.day.isoformat() if self.day else None, "lang": _lang()}
        out.update(changes)
        return {k: v for k, v in out.items() if v is not None}

    def href(self, target: str, **changes) -> str:
        """target with the query string of params(**changes)."""
        return f"{target}?{urlencode(self.params(**changes))}"


def _partial() -> bool:
    return request.headers.get("HX-Target") == PICKER


def _hosts(page) -> list:
    """The page's hosts (webapp.booking's page_hosts: a rotation's members, their users
    and seats in one statement)."""
    return booking_ops.page_hosts(page)


#: Rendered month and day views of the picker (no time chosen), in this process, by what
#: they show: the page's free starts (from webapp.booking's kept month: a change that
#: takes or frees a time changes them), the visitor's choices, the language and today.
PICKERS = LocalCache(512)


def _kept_picker(page, picker: Picker, context: dict) -> Markup:
    """The picker's HTML, rendered once for what it shows."""
    key = (page.id, page.updated_at, picker.found, picker.zone, picker.detect,
           picker.duration, tuple(picker.durations), picker.window, picker.today,
           picker.day, _lang(), str(get_locale()), context["target"])
    html = PICKERS.get(key)
    if html is None:
        html = Markup(_render("scheduling_pages/_picker.html", **context)[0])
        PICKERS.put(key, html, 3600)
    return html


def _page_view(page, values, status: int = 200, **context):
    hosts = _hosts(page)
    picker = Picker(page, values, hosts)
    context = dict(page=page, picker=picker, hosts=hosts, utc_text=cal.utc_text,
                   form_token=formtoken.issue(page.slug), target=url_for(
                       "scheduling_pages.public", slug=page.slug), **context)
    if status == 200 and picker.start is None and not picker.gone:
        context["picker_html"] = _kept_picker(page, picker, context)
        if _partial():
            return context["picker_html"], status, {"Vary": "Accept-Language, HX-Request"}
    template = "scheduling_pages/_picker.html" if _partial() else "scheduling_pages/public.html"
    return _render(template, status, **context)


@bp.get("/book/<slug>")
def public(slug: str):
    _limit()
    page = booking_ops.public_page(slug[:80])
    if page is None:
        return not_found()
    _frame(page.account_id)
    return _page_view(page, request.args, form={}, errors={})


def _answers(page, form) -> dict:
    out = {}
    for key in page.asks:
        out[key] = (form.get(key) or "")[:MAX_FIELD]
    custom = {}
    for question in page.custom_questions:
        custom[question["key"]] = (form.get(f"q_{question['key']}") or "")[:MAX_FIELD]
    if custom:
        out["custom"] = custom
    return out


def _form_errors(errors: dict) -> dict:
    """The domain's error keys as the form's field names: answers.phone -> phone,
    answers.custom.<key> -> q_<key>; the others (start, duration, ...) stay."""
    out: dict = {}
    for key, messages in errors.items():
        if key.startswith("answers.custom."):
            key = "q_" + key.removeprefix("answers.custom.")
        elif key.startswith("answers."):
            key = key.removeprefix("answers.")
        out.setdefault(key, []).extend(str(m) for m in messages)
    return out


@csrf.exempt
@bp.post("/book/<slug>")
def book(slug: str):
    _limit()
    formtoken.check(request.form.get("form_token"), slug[:80])
    page = booking_ops.public_page(slug[:80])
    if page is None:
        return not_found()
    _frame(page.account_id)
    form = request.form
    start = cal.parse_instant(form.get("start"))
    if start is None:
        abort(400)
    zone = cal.visitor_zone(form.get("zone"), _host_zone(page))
    data = booking_ops.BookingRequest(
        start=start, duration=cal.choose_duration(form.get("duration"), _durations(page)),
        timezone=zone,
        name=(form.get("name") or "")[:MAX_FIELD], email=(form.get("email") or "")[:MAX_FIELD],
        answers=_answers(page, form), honeypot=(form.get("website") or "")[:MAX_FIELD])
    result = booking_ops.book(page, data)
    if result.fake:
        db.session.rollback()
        return _render("scheduling_pages/received.html", page=page, start=start, zone=zone,
                       target=url_for("scheduling_pages.public", slug=page.slug))
    if result.taken:
        db.session.rollback()
        day = start.astimezone(cal.ZoneInfo(zone)).date().isoformat()
        return _page_view(page, {**form.to_dict(), "start": "", "day": day}, 409,
                          taken=True, form=form, errors={})
    if result.errors:
        db.session.rollback()
        return _page_view(page, form, 422, form=form, errors=_form_errors(result.errors))
    db.session.commit()
    result.after_commit()
    query = {"booked": "1", "lang": _lang()}
    return redirect(urlsplit(result.manage_url).path + "?" + urlencode(
        {k: v for k, v in query.items() if v}), 303)


# --- the manage page --------------------------------------------------------------------

def _booking_or_404(token: str):
    booking = booking_ops.booking_by_token(token[:200])
    if booking is None or booking.page is None:
        return None
    return booking


def _too_late(booking, now=None) -> bool:
    """Inside the page's minimum notice: the visitor can no longer change it online."""
    notice = timedelta(minutes=booking.page.min_notice_minutes or 0)
    return booking.meeting.start_at - (now or utcnow()) < notice


def _manage_view(booking, token: str, status: int = 200, **context):
    page = booking.page
    meeting = booking.meeting
    live = booking.status != "canceled" and meeting.outcome != "canceled" and \
        meeting.deleted_at is None
    zone = cal.visitor_zone(request.values.get("zone"), booking.timezone)
    picker = Picker(page, {**request.values.to_dict(), "zone": zone}, _hosts(page),
                    exclude_meeting=booking.meeting_id) if live and not _too_late(booking) else None
    template = "scheduling_pages/_picker.html" if _partial() and picker else \
        "scheduling_pages/manage.html"
    return _render(template, status, page=page, booking=booking, meeting=booking.meeting,
                   picker=picker, zone=zone, live=live, too_late=live and _too_late(booking),
                   utc_text=cal.utc_text, form_token=formtoken.issue(token),
                   target=url_for("scheduling_pages.manage", token=token), token=token,
                   manage_url=booking_ops.manage_url(booking), form={}, errors={},
                   **context)


@bp.get("/book/manage/<token>")
def manage(token: str):
    _limit()
    booking = _booking_or_404(token)
    if booking is None:
        return not_found()
    _frame(booking.account_id)
    return _manage_view(booking, token, booked=request.args.get("booked") == "1",
                        confirm_cancel=request.args.get("cancel") == "1")


def _change(token: str, change):
    _limit()
    formtoken.check(request.form.get("form_token"), token[:200])
    booking = _booking_or_404(token)
    if booking is None:
        return not_found()
    _frame(booking.account_id)
    result = change(booking)
    if getattr(result, "too_late", False):
        db.session.rollback()
        return _manage_view(booking, token, 409, refused=True)
    if getattr(result, "taken", False):
        db.session.rollback()
        return _manage_view(booking, token, 409, taken=True)
    if getattr(result, "errors", None):
        db.session.rollback()
        return _manage_view(booking, token, 422, errors=result.errors)
    db.session.commit()
    result.after_commit()
    return None


@csrf.exempt
@bp.post("/book/manage/<token>/reschedule")
def reschedule(token: str):
    zone = cal.visitor_zone(request.form.get("zone"), "UTC")
    start = cal.parse_instant(request.form.get("start"))
    if start is None:
        _limit()
        formtoken.check(request.form.get("form_token"), token[:200])
        abort(400)
    duration = request.form.get("duration")
    answer = _change(token, lambda booking: booking_ops.reschedule(
        booking, start, cal.choose_duration(duration, _durations(booking.page)), zone))
    return answer or redirect(url_for("scheduling_pages.manage", token=token,
                                      done="rescheduled", lang=_lang()), 303)


@csrf.exempt
@bp.post("/book/manage/<token>/cancel")
def cancel(token: str):
    answer = _change(token, booking_ops.cancel)
    return answer or redirect(url_for("scheduling_pages.manage", token=token,
                                      done="canceled", lang=_lang()), 303)


@bp.context_processor
def _calendar_words():
    """Dates in the visitor's language: the month's title, a day's, a weekday's name."""
    from babel import dates as babel_dates

    def locale() -> str:
        return str(get_locale())

    return {
        "month_title": lambda d: babel_dates.format_skeleton("yMMMM", d, locale=locale()),
        "day_title": lambda d: babel_dates.format_date(d, "full", locale=locale()),
        "weekday_name": lambda wd, width: babel_dates.get_day_names(
            width, locale=locale())[wd],
        "timedelta_minutes": lambda m: timedelta(minutes=m),
        # The page's minimum notice in words ("4 hours", "4 小時").
        "notice_words": lambda m: babel_dates.format_timedelta(
            timedelta(minutes=m or 0), threshold=1, locale=locale()),
    }
