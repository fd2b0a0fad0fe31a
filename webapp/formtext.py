"""WTForms' own messages ("This field is required.", "Not a valid choice.") in the page's
language.

Flask-WTF loads WTForms' catalogue for Flask-Babel's locale by its name, and gettext
shortens a name it has no catalogue for: "zh_Hant" became "zh", WTForms' Simplified
Chinese. Its Traditional Chinese catalogue is called "zh_TW". Flask-WTF takes the
catalogue from `request.wtforms_translations` when a request has one: every request has
a lazy one here (an attribute of the app's request class, no per-request hook), which
maps Parley's locales to WTForms' names when a message is needed.
"""

from __future__ import annotations

from functools import cache

from babel import support
from flask import Flask
from flask_babel import get_locale
from wtforms.i18n import messages_path

#: Parley's locale -> the name of WTForms' catalogue in that language.
WTFORMS_LOCALES = {"zh_Hant": "zh_TW"}


@cache
def catalogue(locale: str) -> support.Translations:
    name = WTFORMS_LOCALES.get(locale, locale)
    return support.Translations.load(messages_path(), [name], domain="wtforms")


class _PageTranslations:
    """WTForms' catalogue in the request's locale, looked up when a message is needed."""

    def ugettext(self, string: str) -> str:
        return catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return catalogue(str(get_locale())).ungettext(singular, plural, n)


_PAGE_TRANSLATIONS = _PageTranslations()


def init_app(app: Flask) -> None:
    app.request_class = type("Request", (app.request_class,),
                             {"wtforms_translations": _PAGE_TRANSLATIONS})
