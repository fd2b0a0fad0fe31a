"""Security headers on every response: Content-Security-Policy, HSTS, framing, sniffing.

The policy allows scripts only from this origin: no inline `<script>` and no `on*=`
attributes (tests/test_csp.py renders every page and checks). `<script type=
"application/json">` data blocks are not run, so they need no nonce. Style attributes stay
allowed (the week grid positions its blocks with them); `<style>` elements do not.

Framing: no page may be framed (frame-ancestors 'none', X-Frame-Options DENY), except a
public booking page whose account lists origins (#22): its view calls `allow_framing()`
with their source list, which replaces 'none' in its response's policy only (and the
X-Frame-Options header is left out, which could only say DENY or SAMEORIGIN).
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_login import current_user

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
])
#: The offline page is one self-contained file (the service worker serves it with no
#: network), so its own `<style>` element is allowed; it has no script.
OFFLINE_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


#: Where a view leaves this request's frame-ancestors sources (the request's own environ:
#: nothing carries over to another request, as `g` can when an app context is shared).
FRAMING_KEY = "parley.frame_ancestors"


def allow_framing(sources: str) -> None:
    """Let this request's response be framed by sources (a CSP source list)."""
    request.environ[FRAMING_KEY] = sources


def init_app(app: Flask) -> None:
    """Add the headers to every response of app (one hook for all of them: each hook
    costs every request, #24)."""

    fixed = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
             ("X-Frame-Options", "DENY"))
    ours = frozenset(("content-security-policy", "strict-transport-security",
                      *(key.lower() for key, _ in fixed)))
    #: What nearly every response gets, built once per HSTS setting: werkzeug's
    #: Headers.extend() checked each of these constant values for newlines on every
    #: response (#24, the floor).
    usual: dict[int, list] = {}

    def hsts_header(seconds: int) -> tuple:
        return (("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains"),) \
            if seconds else ()

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.add("Vary", "HX-Request")
        if response.mimetype == "text/html" and "_user_id" in session \
                and current_user.is_authenticated:
            # A logged-in page must not be shown again from a cache after logout.
            headers["Cache-Control"] = "no-store"
        present = {key.lower() for key in headers.keys()} & ours
        framing = request.environ.get(FRAMING_KEY)
        offline = request.endpoint == "core.offline"
        seconds = app.config.get("HSTS_SECONDS", 0)
        if not present and not offline and not (framing and framing != "'none'"):
            found = usual.get(seconds)
            if found is None:
                found = usual[seconds] = [("Content-Security-Policy", POLICY), *fixed,
                                          *hsts_header(seconds)]
            headers._list.extend(found)  # constants, checked when built
            return response
        policy = OFFLINE_POLICY if offline else POLICY
        deny = fixed
        if framing and framing != "'none'":
            policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {framing}")
            deny = fixed[:2]
        headers.extend([(key, value) for key, value
                        in (("Content-Security-Policy", policy), *deny,
                            *hsts_header(seconds))
                        if key.lower() not in present])
        return response
