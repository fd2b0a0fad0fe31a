"""Parts of a page that are the same on every view in a language (#24).

base.html's head links and main navigation cost about 15 `url_for` and 10 gettext calls a
page; they depend on nothing but the language, the app's URL root and a few flags, so each
is rendered once a process for each combination and reused.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup, escape

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


class _Holes:
    """What a filled_fragment() template writes where a per-request value goes:
    `hole.name` in text, `hole.int('name')` where a number is needed (a url_for argument
    that takes an int: a number no page shows, replaced by the hole once rendered)."""

    def __init__(self):
        self.ints: dict[str, int] = {}

    def __getattr__(self, name: str) -> Markup:
        return Markup(f"\x00{name}\x00")

    def int(self, name: str) -> int:
        return self.ints.setdefault(name, 2147480000 + len(self.ints))


_HOLE = re.compile("\x00([a-z_]+)\x00")


def filled_fragment(name: str, holes: dict, **values) -> Markup:
    """The template `name` rendered once a process as constant_fragment() renders it,
    with a few per-request values put in its holes at each view: `{{ hole.csrf }}` in the
    template stands for holes["csrf"], escaped unless it is Markup.

    A number in a URL (`url_for(..., record_id=hole.int('id'))`) is a hole too.

    Kept as its constant pieces and the names between them (re.split's alternation), so a
    view joins a dozen strings instead of rendering the template's url_for and gettext calls.
    """
    cache = current_app.extensions["parley_fragments"]
    key = (name, "holes", str(get_locale()), request.script_root, *sorted(values.items()))
    parts = cache.get(key)
    if parts is None:
        if len(cache) >= MOST:
            cache.clear()
        holes_of = _Holes()
        text = render_template(name, hole=holes_of, **values)
        for hole_name, number in holes_of.ints.items():
            text = text.replace(str(number), f"\x00{hole_name}\x00")
        parts = cache[key] = _HOLE.split(text)
    out = parts[:]
    for i in range(1, len(out), 2):
        out[i] = escape(holes[out[i]])
    return Markup("".join(out))


def init_app(app: Flask) -> None:
    app.extensions["parley_fragments"] = {}
    app.jinja_env.globals["constant_fragment"] = constant_fragment
    app.jinja_env.globals["filled_fragment"] = filled_fragment
