from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from webapp.validation import TimeZone, canonical_timezone, options, timezone_names


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=10, max=200,
                               message=_l("Use between 10 and 200 characters."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    timezone = SelectField(_l("Time zone"), validators=[Optional(), TimeZone()],
                           validate_choice=False,
                           render_kw={"data-zone-search": _l("Find a city or region")})
    locale = SelectField(_l("Language"), validators=[Optional()],
                         choices=options([("", _l("Same as my browser")), ("en", "English"),
                                  ("zh_Hant", "繁體中文")]))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = options([("", _l("Same as my account"))] + [
            (z, z) for z in timezone_names()])
        self.timezone.data = canonical_timezone(self.timezone.data) or self.timezone.data
