"""Validators shared by forms and operations: email, phone, time zone."""

from __future__ import annotations

from functools import cache
from importlib import resources

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms.validators import ValidationError


def _tz_file(name: str) -> str:
    return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


@cache
def _zone_data() -> tuple[tuple[str, ...], dict[str, str]]:
    """The canonical zone names and the links (alias -> canonical name), from the pinned
    tzdata package: its tzdata.zi ("Z name ..." a zone, "L target alias" a link) and
    zone.tab (the zone of each country, which keeps a few names the tz database made
    links, such as Europe/Amsterdam, because people look for them)."""
    zones, links = set(), {}
    for line in _tz_file("tzdata.zi").splitlines():
        if line.startswith("Z "):
            zones.add(line.split()[1])
        elif line.startswith("L "):
            _l_, target, alias = line.split()[:3]
            links[alias] = target
    for line in _tz_file("zone.tab").splitlines():
        if line and not line.startswith("#"):
            zones.add(line.split("\t")[2])
    names = sorted(z for z in zones if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    links = {alias: "UTC" if target == "Etc/UTC" else target
             for alias, target in links.items() if alias not in zones and alias != "UTC"}
    links["Etc/UTC"] = "UTC"
    return (*names, "UTC"), links


def timezone_names() -> tuple[str, ...]:
    """The zone names a picker offers: canonical IANA names only, sorted, then UTC (no
    legacy aliases such as Asia/Calcutta, Asia/Saigon or US/Eastern)."""
    return _zone_data()[0]


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(timezone_names())


def canonical_timezone(name: str | None) -> str | None:
    """The canonical name of a zone or of one of its aliases (Asia/Calcutta ->
    Asia/Kolkata, Etc/UTC -> UTC); None for a name that is neither."""
    if not name:
        return None
    if name in _zone_set():
        return name
    target = _zone_data()[1].get(name)
    while target is not None and target not in _zone_set():
        target = _zone_data()[1].get(target)
    return target


def is_valid_timezone(name: str | None) -> bool:
    """A zone name Parley accepts: a canonical name or an alias of one (stored values and
    API callers may use the old names; the pickers offer only the canonical ones)."""
    return canonical_timezone(name) is not None


@cache
def _timezone_options_html() -> str:
    return "".join(f'<option value="{z}" >{z}</option>' for z in map(escape, timezone_names()))


def timezone_options(selected: str | None) -> Markup:
    """The <option>s of every zone, `selected` chosen: ~500 options, built once a process
    (zone ids are not translated), the same markup the templates' loop made."""
    html = _timezone_options_html()
    selected = canonical_timezone(selected)  # a stored alias shows as its canonical name
    if selected:
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
    """WTForms validator: an IANA zone name; stores the canonical name of an alias."""

    def __call__(self, form, field):
        if not field.data:
            return
        canonical = canonical_timezone(field.data)
        if canonical is None:
            raise ValidationError(_l("Choose a time zone from the list."))
        field.data = canonical


def options(pairs) -> list:
    """SelectField choices from (value, label) pairs (WTForms 3.3 wants SelectChoice)."""
    from wtforms.fields.choices import SelectChoice
    return [SelectChoice(value, label) for value, label in pairs]
