"""Parts of a page that are the same on every view in a language (#24).

base.html's head links and main navigation cost about 15 `url_for` and 10 gettext calls a
page; they depend on nothing but the language, the app's URL root and a few flags, so each
is rendered once a process for each combination and reused.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

#: More combinations than a deployment has (templates x languages x flags): a guard only.
MOST = 512


def constant_fragment(name: str, **values) -> Markup:
    """The template `name` rendered with values, once per process, language and URL root.

    The template may read nothing else: no user, no CSRF token, no request (but the URL
    root url_for() builds on), no config and no clock; what it needs comes in `values`.
    """
    cache = current_app.extensions["parley_fragments"]
    key = (name, str(get_locale()), request.script_root, *sorted(values.items()))
    found = cache.get(key)
    if found is None:
        if len(cache) >= MOST:
            cache.clear()
        found = cache[key] = Markup(render_template(name, **values))
    return found


def init_app(app: Flask) -> None:
    app.extensions["parley_fragments"] = {}
    app.jinja_env.globals["constant_fragment"] = constant_fragment
