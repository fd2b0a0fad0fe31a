"""Resolve git conflict blocks by keeping ours then theirs (for additive conflicts)."""
import re
import sys

for path in sys.argv[1:]:
    text = open(path).read()
    pattern = re.compile(r"<<<<<<< [^\n]*\n(.*?)=======\n(.*?)>>>>>>> [^\n]*\n", re.S)
    text = pattern.sub(lambda m: m.group(1) + m.group(2), text)
    open(path, "w").write(text)
