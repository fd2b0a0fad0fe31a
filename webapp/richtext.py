"""The one sanitizer for rich text coming in (nh3 allowlist), and a plain-text rendering."""

from __future__ import annotations

import html
import re

import nh3

TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "blockquote"}
ATTRIBUTES = {"a": {"href"}}
SCHEMES = {"http", "https", "mailto", "tel"}
MAX_LENGTH = 20_000


def sanitize(value: str | None) -> str:
    """Allowlisted HTML: formatting, lists and http(s)/mailto/tel links; nothing else.

    Sanitizing twice gives the same result as once.
    """
    if not value:
        return ""
    cleaned = nh3.clean(value, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                        link_rel="noopener noreferrer nofollow", strip_comments=True)
    return cleaned.strip()


_BLOCK_END = re.compile(r"</(p|li|blockquote)>|<br\s*/?>", re.I)
_LI = re.compile(r"<li>", re.I)
_LIST_START = re.compile(r"<(ul|ol)>", re.I)
_HREF = re.compile(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def to_text(value: str | None) -> str:
    """Readable plain text of sanitized HTML: list bullets, links as 'text (url)'."""
    if not value:
        return ""
    text = _HREF.sub(lambda m: m.group(2) if m.group(1) == _TAG.sub("", m.group(2))
                     else f"{m.group(2)} ({m.group(1)})", value)
    text = _LIST_START.sub("\n", text)
    text = _LI.sub("• ", text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def from_text(value: str | None) -> str:
    """HTML for plain text typed in a text box: paragraphs at blank lines, line breaks kept."""
    if not value or not value.strip():
        return ""
    paragraphs = re.split(r"\n\s*\n", value.replace("\r\n", "\n").strip())
    return "".join("<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>"
                   for p in paragraphs if p.strip())
