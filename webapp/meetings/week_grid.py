"""One day column of the scheduler's week grid (meetings/_week.html) as HTML (#24).

A week has 336 slot buttons, each with its reason in three attributes, and up to hundreds
of events: drawn by Jinja, every `{{ }}` of them was escaped and yielded on its own (about
half the grid request's CPU). Here each distinct text is escaped once a column and each
element is one string. The markup is what the template drew before, byte for byte but
for the dash of an event's times, a character reference (tests/test_week_availability.py
compares it with the Jinja drawing of the same week).
"""

from __future__ import annotations

from markupsafe import Markup, escape

#: Between the column's parts, as the template's lines were indented.
_BREAK = "\n      "


def day_column(day: dict, slot_labels, iso: str, day_label: str, busy_label: str) -> Markup:
    """The inside of a day's column: its shades by reason, the attendees' overlay, a
    button per slot (its reason as hover and tap text) and the events."""
    # Each distinct text once: `said.get(text) or esc(text)` (no text is empty).
    said: dict[str, str] = {}

    def esc(text: str) -> str:
        found = said[text] = text if not (
            "&" in text or "<" in text or ">" in text or '"' in text or "'" in text
        ) else str(escape(text))
        return found
    iso, label = esc(iso), esc(day_label)
    busy_text = esc(busy_label)
    shades = "".join(
        f'<div class="shade shade-{said.get(sh.kind) or esc(sh.kind)}" style="top: {sh.top:d}px; height: '
        f'{sh.height:d}px" aria-hidden="true"></div>' for sh in day["shades"])
    overlays = "".join(
        f'<div class="shade shade-attendee" style="top: {sh.top:d}px; height: {sh.height:d}px"'
        f' aria-hidden="true"></div>' for sh in day["overlays"])
    why_of = day["why"]
    slots = []
    # A slot's "HH:MM" has nothing to escape.
    for hm in slot_labels:
        why = why_of.get(hm)
        if not why:
            slots.append(f'<button type="button" class="slot" data-date="{iso}" data-time="{hm}"'
                         f' aria-label="{label} {hm}" tabindex="-1"></button>')
            continue
        text = said.get(why) or esc(why)
        slots.append(f'<button type="button" class="slot unavailable" data-date="{iso}" '
                     f'data-time="{hm}" aria-label="{label} {hm}: {text}" title="{text}" '
                     f'data-why="{text}" tabindex="-1"></button>')
    events = []
    for b in day["blocks"]:
        text = busy_text if b.busy else (said.get(b.title) or esc(b.title))
        # "HH:MM–HH:MM", its dash as a character reference: an English grid stays ASCII,
        # which Python joins and encodes by copying (the overlaid week's 185 kB as UCS-2
        # took 0.3 ms more a view to encode, #21).
        when = b.label.replace("–", "&#8211;")
        events.append(f'<div class="event{" busy" if b.busy else ""}" style="top: {b.top:d}px; '
                      f'height: {b.height:d}px" title="{text} {when}"><span>{text}</span> '
                      f'<small>{when}</small></div>')
    return Markup(_BREAK.join((shades, overlays, "".join(slots), "".join(events))))
