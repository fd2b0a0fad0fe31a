"""The scheduling page settings form (request side, no database writes): the posted form
turned into the values webapp.booking.operations.create_page / update_page take, and a
page turned back into what the form shows.

Only the form's own wording is checked here (a number that is not a number); every rule
about the values is the domain's (a team page asked for by someone who is not an admin
too).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from webapp.booking.operations import TEAM_KINDS  # noqa: F401  (the settings routes read it here)
from webapp.meetings.models import REMINDER_UNITS

#: Custom question rows the form shows (the domain allows ten).
CUSTOM_ROWS = 5
REMINDER_ROWS = 3
NUMBERS = ("buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
           "horizon_days", "slot_interval_minutes")

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message) -> None:
    errors.setdefault(field, []).append(str(message))


def _whole(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 7 else None


def parse(form: Mapping, existing: list[dict] | None = None
          ) -> tuple[dict, Errors]:
    """(values, errors) from the posted form. `existing`: the page's custom questions, whose
    keys the rows keep (answers already given stay matched to their question)."""
    errors: Errors = {}
    values: dict = {"title": (form.get("title") or "").strip()[:300],
                    "slug": (form.get("slug") or "").strip().lower()[:120]}
    kind = form.get("kind") or "one_on_one"
    values["kind"] = kind

    durations = []
    for part in (form.get("durations") or "").replace("，", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        number = _whole(part)
        if number is None:
            _add(errors, "durations", _l("Write durations in minutes, separated by commas: "
                                         "15, 30, 60."))
            break
        durations.append(number)
    values["durations"] = durations

    location = form.get("location_kind") or "video"
    values["location_kind"] = location
    # The text is the address or the custom wording; phone and video have none (a video
    # page's value names its provider, which the host's settings choose).
    values["location_value"] = ((form.get("location_value") or "").strip()[:600] or None) \
        if location in ("address", "custom") else None

    keys = [q.get("key") for q in existing or []]
    custom = []
    for n in range(1, CUSTOM_ROWS + 1):
        label = (form.get(f"question_{n}") or "").strip()
        if not label:
            continue
        row = {"label": label[:300], "required": form.get(f"question_{n}_required") == "1"}
        if n <= len(keys) and keys[n - 1]:
            row["key"] = keys[n - 1]
        custom.append(row)
    values["questions"] = {"phone": form.get("ask_phone") == "1",
                           "company": form.get("ask_company") == "1",
                           "note": form.get("ask_note") == "1", "custom": custom}

    for field in NUMBERS:
        text = (form.get(field) or "").strip()
        if not text:
            _add(errors, field, _l("Enter a whole number."))
            continue
        number = _whole(text)
        if number is None:
            _add(errors, field, _l("Enter a whole number."))
        else:
            values[field] = number
    cap = (form.get("max_per_day") or "").strip()
    if cap and _whole(cap) is None:
        _add(errors, "max_per_day", _l("Enter a whole number, or leave it empty for no limit."))
    values["max_per_day"] = _whole(cap) or None

    type_id = (form.get("meeting_type_id") or "").strip()
    if "meeting_type_id" in form:
        values["meeting_type_id"] = _whole(type_id) if type_id else None

    if form.get("reminders_default") == "1":
        values["reminders"] = None
    else:
        reminders = []
        amounts, units = form.getlist("reminder_amount"), form.getlist("reminder_unit")
        for amount, unit in zip(amounts, units, strict=False):
            if not amount.strip():
                continue
            number = _whole(amount)
            if number is None or number < 1 or unit not in REMINDER_UNITS:
                _add(errors, "reminders", _l("A reminder needs a whole number above zero."))
                break
            reminders.append([number, unit])
        values["reminders"] = reminders

    if kind == "round_robin":
        values["rotation_id"] = _whole(form.get("rotation_id"))
    if kind == "group":
        values["host_ids"] = [int(i) for i in form.getlist("host_ids") if _whole(i)]
    values["paused"] = form.get("paused") == "1"
    return values, errors


def form_values(page) -> dict:
    """What the form shows for a saved page (or the defaults for a new one: page None)."""
    if page is None:
        return {"kind": "one_on_one", "durations": "30", "location_kind": "video",
                "buffer_before_minutes": 0, "buffer_after_minutes": 0,
                "min_notice_minutes": 240, "horizon_days": 60, "slot_interval_minutes": 30,
                "max_per_day": "", "reminders_default": True, "reminder_rows": _rows([]),
                "questions": [], "host_ids": []}
    questions = page.questions or {}
    return {
        "title": page.title, "slug": page.slug, "kind": page.kind,
        "durations": ", ".join(str(d) for d in page.durations or []),
        "location_kind": page.location_kind, "location_value": page.location_value or "",
        "ask_phone": questions.get("phone"), "ask_company": questions.get("company"),
        "ask_note": questions.get("note"), "questions": page.custom_questions,
        **{field: getattr(page, field) for field in NUMBERS},
        "max_per_day": page.max_per_day or "", "meeting_type_id": page.meeting_type_id,
        "reminders_default": page.reminders is None,
        "reminder_rows": _rows(page.reminders or []), "rotation_id": page.rotation_id,
        "host_ids": list(page.host_ids or []), "paused": page.paused,
    }


def posted_values(form: Mapping) -> dict:
    """What a refused form shows again: the visitor's own input."""
    rows = list(zip(form.getlist("reminder_amount"), form.getlist("reminder_unit"),
                    strict=False))
    out = {key: form.get(key, "") for key in (
        "title", "slug", "kind", "durations", "location_kind", "location_value",
        *NUMBERS, "max_per_day")}
    out.update({
        "ask_phone": form.get("ask_phone") == "1", "ask_company": form.get("ask_company") == "1",
        "ask_note": form.get("ask_note") == "1",
        "questions": [{"label": form.get(f"question_{n}", ""),
                       "required": form.get(f"question_{n}_required") == "1"}
                      for n in range(1, CUSTOM_ROWS + 1) if form.get(f"question_{n}")],
        "meeting_type_id": _whole(form.get("meeting_type_id")),
        "reminders_default": form.get("reminders_default") == "1",
        "reminder_rows": _rows([[a, u] for a, u in rows if a.strip()]),
        "rotation_id": _whole(form.get("rotation_id")),
        "host_ids": [int(i) for i in form.getlist("host_ids") if _whole(i)],
        "paused": form.get("paused") == "1",
    })
    return out


def _rows(reminders: list) -> list:
    rows = [(str(a), u) for a, u in reminders]
    return (rows + [("", "hours")] * REMINDER_ROWS)[:max(REMINDER_ROWS, len(rows))]
