"""Create and edit forms for each record type."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.records.models import CONTACT_LANGUAGES, DEAL_STAGES, TICKET_PRIORITIES, TICKET_STATUSES
from webapp.validation import (
    EmailAddress,
    PhoneNumber,
    TimeZone,
    canonical_timezone,
    options,
    timezone_names,
)

STAGE_LABELS = {
    "appointment": _l("Appointment scheduled"), "qualified": _l("Qualified to buy"),
    "presentation": _l("Presentation scheduled"), "decision": _l("Decision maker bought in"),
    "contract": _l("Contract sent"), "won": _l("Closed won"), "lost": _l("Closed lost"),
}
STATUS_LABELS = {
    "new": _l("New"), "waiting_on_contact": _l("Waiting on contact"),
    "waiting_on_us": _l("Waiting on us"), "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
#: Each language in its own words, as the language switch names them.
LANGUAGE_LABELS = dict(zip(CONTACT_LANGUAGES, ("English", "繁體中文"), strict=True))
#: The search box the zone pickers get (static/js/app.js).
ZONE_SEARCH = {"data-zone-search": _l("Find a city or region")}


def optional_id(value) -> int | None:
    """A select's id, or None for its empty choice ("No company")."""
    if value in (None, "", "None"):
        return None
    return int(value)


class ContactForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254), EmailAddress()])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=32), PhoneNumber()],
                        description=_l("With the country code, e.g. +886 2 2345 6789."))
    timezone = SelectField(_l("Time zone"), validators=[Optional(), TimeZone()],
                           validate_choice=False, render_kw=ZONE_SEARCH)
    language = SelectField(_l("Language"), default="en", coerce=lambda v: v or "en",
                           choices=options(list(LANGUAGE_LABELS.items())),
                           description=_l("Invitations, updates and reminders reach this "
                                          "contact in this language."))
    company_id = SelectField(_l("Company"), coerce=optional_id,
                             validators=[Optional()], validate_choice=True)

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = options([("", _l("Unknown"))] + [(z, z) for z in timezone_names()])
        # A zone saved under an old name (Asia/Calcutta) is chosen under its canonical one.
        self.timezone.data = canonical_timezone(self.timezone.data) or self.timezone.data
        # The empty choice's value is "": None would be rendered as the text "None".
        self.company_id.choices = options([("", _l("No company"))] + [(c.id, c.name) for c in companies])
        if self.language.data is None:  # a contact saved before it had a language
            self.language.data = "en"


class CompanyForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    domain = StringField(_l("Domain"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=32), PhoneNumber()],
                        description=_l("With the country code, e.g. +886 2 2345 6789."))
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)


class DealForm(FlaskForm):
    name = StringField(_l("Deal name"), validators=[DataRequired(), Length(max=200)])
    amount = DecimalField(_l("Amount"), places=2,
                          validators=[Optional(), NumberRange(min=0, max=10**11)])
    stage = SelectField(_l("Deal stage"), choices=options([(s, STAGE_LABELS[s]) for s in DEAL_STAGES]))
    close_date = DateField(_l("Close date"), validators=[Optional()])

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)


class TicketForm(FlaskForm):
    subject = StringField(_l("Ticket name"), validators=[DataRequired(), Length(max=200)])
    status = SelectField(_l("Ticket status"),
                         choices=options([(s, STATUS_LABELS[s]) for s in TICKET_STATUSES]))
    priority = SelectField(_l("Priority"),
                           choices=options([(p, PRIORITY_LABELS[p]) for p in TICKET_PRIORITIES]))
    description = TextAreaField(_l("Ticket description"),
                                validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)


FORMS = {"contact": ContactForm, "company": CompanyForm, "deal": DealForm, "ticket": TicketForm}
