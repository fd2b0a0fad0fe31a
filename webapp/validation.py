"""Validators shared by forms and operations: email, phone, time zone."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms.validators import ValidationError


@cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted, without the legacy aliases."""
    return tuple(sorted(z for z in available_timezones()
                        if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))) + ("UTC",)


@cache
def _timezone_set() -> frozenset[str]:
    return frozenset(timezone_names())


def is_valid_timezone(name: str | None) -> bool:
    return bool(name) and name in _timezone_set()


@cache
def _timezone_options_html() -> str:
    return "".join(f'<option value="{z}" >{z}</option>' for z in map(escape, timezone_names()))


def timezone_options(selected: str | None) -> Markup:
    """The <option>s of every zone, `selected` chosen: ~500 options, built once a process
    (zone ids are not translated), the same markup the templates' loop made."""
    html = _timezone_options_html()
    if selected and selected in _timezone_set():
        name = escape(selected)
        html = html.replace(f'<option value="{name}" >', f'<option value="{name}" selected>', 1)
    return Markup(html)


def normalize_email(value: str) -> str:
    """Return the normalized address or raise ValueError with a user-facing message."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def is_valid_email(value: str | None) -> bool:
    if not value:
        return False
    try:
        normalize_email(value)
        return True
    except ValueError:
        return False


def normalize_phone(value: str) -> str:
    """Return E.164 or raise ValueError with a user-facing message."""
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(_l("Enter the number with its country code, e.g. +1 415 555 0100."))) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(str(_l("This is not a valid phone number.")))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class EmailAddress:
    """WTForms validator: a syntactically valid address; stores the normalized form."""

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            field.data = normalize_email(field.data)
        except ValueError as exc:
            raise ValidationError(_l("Enter a valid email address.")) from exc


class PhoneNumber:
    """WTForms validator: an international phone number; stores E.164."""

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            field.data = normalize_phone(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class TimeZone:
    """WTForms validator: an IANA zone name."""

    def __call__(self, form, field):
        if field.data and not is_valid_timezone(field.data):
            raise ValidationError(_l("Choose a time zone from the list."))


def options(pairs) -> list:
    """SelectField choices from (value, label) pairs (WTForms 3.3 wants SelectChoice)."""
    from wtforms.fields.choices import SelectChoice
    return [SelectChoice(value, label) for value, label in pairs]
