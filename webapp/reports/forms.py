"""Read the report's query string into a ReportFilter, with a message per bad field."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from webapp.records.models import RECORD_MODELS
from webapp.reports.operations import DIMENSIONS, MAX_RANGE_DAYS, Choices, ReportFilter

#: Without dates, a report covers the last 90 days and the next 30.
DEFAULT_PAST_DAYS = 90
DEFAULT_FUTURE_DAYS = 30


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def parse(args: MultiDict, account_id: int, zone: str, today: date,
          choices: Choices) -> tuple[ReportFilter, dict[str, str]]:
    """The filter from the query string (defaults for what is missing), and errors by field."""
    errors: dict[str, str] = {}
    start = _day(args.get("from")) if args.get("from") else today - timedelta(DEFAULT_PAST_DAYS)
    end = _day(args.get("to")) if args.get("to") else today + timedelta(DEFAULT_FUTURE_DAYS)
    if start is None:
        errors["from"] = str(_l("Enter the date as YYYY-MM-DD."))
    if end is None:
        errors["to"] = str(_l("Enter the date as YYYY-MM-DD."))
    if start and end:
        if end < start:
            errors["to"] = str(_l("The end date must be on or after the start date."))
        elif (end - start).days >= MAX_RANGE_DAYS:
            errors["to"] = str(_l("Choose a range of at most two years."))
    group_by = args.get("by") or "organizer"
    if group_by not in DIMENSIONS:
        errors["by"] = str(_l("Choose from the list."))
    user_ids = {u.id for u in choices.users}
    people = {}
    for name in ("host", "organizer"):
        raw = args.get(name)
        people[name] = _id(raw)
        if raw and people[name] not in user_ids:
            errors[name] = str(_l("Choose a user from your account."))
    outcome = args.get("outcome") or None
    if outcome and outcome not in choices.outcomes:
        errors["outcome"] = str(_l("Choose an outcome from the list."))
    type_id = _id(args.get("type"))
    if args.get("type") and type_id not in {t.id for t in choices.types}:
        errors["type"] = str(_l("Choose a meeting type from the list."))
    record_type = args.get("record_type") or None
    if record_type and record_type not in RECORD_MODELS:
        errors["record_type"] = str(_l("Choose a record type from the list."))
    f = ReportFilter(account_id=account_id, zone=zone, start_day=start or today,
                     end_day=end or today, group_by=group_by if group_by in DIMENSIONS
                     else "organizer", host_id=people["host"],
                     organizer_id=people["organizer"], outcome=outcome, type_id=type_id,
                     record_type=record_type)
    return f, errors
