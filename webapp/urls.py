"""Where the app may send a browser back to: one check for every redirect and return link."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_local_url(target: str | None, fallback: str) -> str:
    """target when it is a path on this site, else fallback.

    Refused: anything with a scheme (`javascript:`, `https:`) or a host (`//evil`), a
    backslash anywhere (browsers read `/\\evil.example` and `\\\\evil` as `//evil...`),
    and control characters or spaces (browsers strip tabs and newlines, so `/\\t/evil`
    becomes `//evil`). The result goes into `Location` headers and `href` attributes.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 0x21 or 0x7f <= ord(c) <= 0x9f for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target
