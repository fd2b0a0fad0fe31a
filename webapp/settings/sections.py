"""The account settings menu, and the admins-only guard every settings page uses.

Another domain adds its page to the menu with `add_section()` (for example rotations or
video-conference apps) and protects its views with `@admin_required`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app
from flask_babel import gettext as _
from flask_login import current_user


@dataclass(frozen=True)
class Section:
    endpoint: str
    #: Lazy strings: shown in the viewer's language.
    label: object
    description: object
    order: int


_SECTIONS: dict[str, Section] = {}


def add_section(endpoint: str, label, description, order: int = 100) -> None:
    """Put a settings page in the menu; lower `order` comes first."""
    _SECTIONS[endpoint] = Section(endpoint, label, description, order)


def sections() -> list[Section]:
    """The menu, in order, with only the pages this app serves."""
    served = current_app.view_functions
    return sorted((s for s in _SECTIONS.values() if s.endpoint in served),
                  key=lambda s: (s.order, s.endpoint))


def admin_check():
    """None for an account admin; the login redirect for a visitor; 403 with a clear
    page for a member."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, description=_("Only account admins can change account settings. "
                                 "Ask an admin of your account to make this change."))
    return None


def admin_required(view):
    """Decorator: the view is for account admins only."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return admin_check() or view(*args, **kwargs)

    return wrapper
