"""Embedding (request side: flush, never commit): which origins may frame an account's
public booking pages, and the frame-ancestors value a /book/ response carries.

An origin is `https://host` or `https://host:port`, optionally with one leading `*.`
wildcard label (CSP's host-source); no path, query, user or fragment. Plain http is
refused: a booking form inside an http page could be read or changed on the way.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.scheduling_pages.models import EmbedOrigins

MAX_ORIGINS = 20
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_ORIGIN = re.compile(rf"^https://(\*\.)?{_LABEL}(\.{_LABEL})+(:\d{{1,5}})?$")


class OriginError(ValueError):
    """A list of origins that cannot be saved; the message names the first bad line."""


def parse_origins(text: str | None) -> list[str]:
    """One origin a line (or separated by spaces or commas) -> the normalized list, in the
    order given, without repeats. OriginError for anything that is not an https origin."""
    out: list[str] = []
    for raw in re.split(r"[\s,]+", text or ""):
        if not raw:
            continue
        origin = raw.strip().rstrip("/").lower()
        port = origin.rpartition(":")[2] if origin.count(":") == 2 else None
        if len(origin) > 253 or not _ORIGIN.match(origin) or \
                (port is not None and not 0 < int(port) < 65536):
            raise OriginError(str(_l(
                "“%(origin)s” is not an https origin. Write it as https://www.example.com "
                "(no path), one a line.", origin=raw[:100])))
        if origin.endswith(":443"):
            origin = origin[:-4]
        if origin not in out:
            out.append(origin)
    if len(out) > MAX_ORIGINS:
        raise OriginError(str(_l("At most %(num)d origins.", num=MAX_ORIGINS)))
    return out


def origins_of(account_id: int) -> list[str]:
    """The account's allowed framing origins (none: the pages cannot be framed)."""
    row = db.session.get(EmbedOrigins, account_id)
    return list(row.origins or []) if row else []


def save_origins(account_id: int, text: str | None) -> list[str]:
    """Replace the account's origins with those in text. Flushes; OriginError saves nothing."""
    origins = parse_origins(text)
    row = db.session.get(EmbedOrigins, account_id)
    if row is None:
        row = EmbedOrigins(account_id=account_id, origins=[])
        db.session.add(row)
    row.origins = origins
    db.session.flush()
    return origins


def frame_ancestors(origins: list[str]) -> str:
    """The CSP frame-ancestors source list for these origins ('none' for no origin)."""
    return " ".join(origins) if origins else "'none'"
