"""Fill untranslated entries of a catalog from other catalogs of the same language.

Used when branches that each translated their own new strings are merged:
    python tools/po_union.py webapp/translations/zh_Hant/LC_MESSAGES/messages.po OTHER.po...
"""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po, write_po


def main(target: str, sources: list[str]) -> int:
    with open(target, "rb") as fh:
        catalog = read_po(fh)
    known: dict = {}
    for path in sources:
        with open(path, "rb") as fh:
            for message in read_po(fh):
                if message.id and message.string and not message.fuzzy:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    if all(strings):
                        known.setdefault(message.id, message.string)
    filled = missing = 0
    for message in catalog:
        if not message.id:
            continue
        empty = not message.string or (isinstance(message.string, tuple) and not all(message.string))
        if empty or message.fuzzy:
            if message.id in known:
                message.string = known[message.id]
                message.flags.discard("fuzzy")
                filled += 1
            else:
                missing += 1
    with open(target, "wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False)
    print(f"filled {filled}, still untranslated {missing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2:]))
