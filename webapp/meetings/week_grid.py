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
    # Fields unpacked rather than read by name (a named tuple's attribute is a descriptor
    # call), lists rather than generators joined: a week has hundreds of each.
    shades = "".join([
        f'<div class="shade shade-{said.get(kind) or esc(kind)}" style="top: {top}px; '
        f'height: {height}px" aria-hidden="true"></div>'
        for top, height, kind, _why in day["shades"]])
    overlays = "".join([
        f'<div class="shade shade-attendee" style="top: {top}px; height: {height}px"'
        f' aria-hidden="true"></div>' for top, height, _kind, _why in day["overlays"]])
    why_of = day["why"]
    slots = []
    append = slots.append
    # What every slot of the column begins with; a slot's "HH:MM" has nothing to escape.
    free = f'<button type="button" class="slot" data-date="{iso}" data-time="'
    taken = f'<button type="button" class="slot unavailable" data-date="{iso}" data-time="'
    for hm in slot_labels:
        why = why_of.get(hm)
        if not why:
            append(f'{free}{hm}" aria-label="{label} {hm}" tabindex="-1"></button>')
            continue
        text = said.get(why) or esc(why)
        append(f'{taken}{hm}" aria-label="{label} {hm}: {text}" title="{text}" '
               f'data-why="{text}" tabindex="-1"></button>')
    events = []
    for _meeting_id, title, top, height, when, busy in day["blocks"]:
        text = busy_text if busy else (said.get(title) or esc(title))
        # "HH:MM–HH:MM", its dash as a character reference: an English grid stays ASCII,
        # which Python joins and encodes by copying (the overlaid week's 185 kB as UCS-2
        # took 0.3 ms more a view to encode, #21).
        when = when.replace("–", "&#8211;")
        events.append(f'<div class="event{" busy" if busy else ""}" style="top: {top}px; '
                      f'height: {height}px" title="{text} {when}"><span>{text}</span> '
                      f'<small>{when}</small></div>')
    return Markup(_BREAK.join((shades, overlays, "".join(slots), "".join(events))))
