"""The King James Bible's verses labelled by their book (`kjv`).

Debian's `bible-kjv-text` holds the text (public domain) in its own compressed format,
which only `bible-kjv`'s `bible` program reads: the builder runs that program for the
whole range Genesis 1:1 to Revelation 22:21, one unwrapped line per verse, and labels
each verse by its book: 31,102 rows, 66 classes ("Genesis", "1 Chronicles", ...; from
Psalms' 2,461 verses down to 2 John's 13), median about 25 words.

Example:

    rows = kjv_rows()                 # [("In the beginning God created ...", "Genesis"), ...]
"""

from __future__ import annotations

import re
import subprocess

from benchmarks.corpora_text import _package_files
from keras_lstm_opt.errors import DataError

KJV_PACKAGES = ("bible-kjv", "bible-kjv-text")
_HEADER = re.compile(r"^(\S.*?) (\d+)$")  # "1 Chronicles 29"
_VERSE = re.compile(r"^\s+(\d+) (.*)$")  # "  12 And ..."


def kjv_rows() -> list[tuple[str, str]]:
    """(verse, book) for every verse of the King James Bible, in canonical order."""
    files = _package_files(*KJV_PACKAGES)
    program = next((p for p in files if p.endswith("/bin/bible")), None)
    if program is None:
        raise DataError(
            "bible-kjv installs no bible program; reinstall it with: "
            "apt-get install --reinstall bible-kjv"
        )
    try:
        out = subprocess.run(
            [program, "-l100000", "Gen1:1-Rev22:21"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise DataError(f"{program}: could not list the verses ({exc})") from None
    rows, book = [], ""
    for line in out.splitlines():
        verse = _VERSE.match(line)
        if verse and book:
            rows.append((" ".join(verse.group(2).split()), book))
        elif header := _HEADER.match(line):
            book = header.group(1)
        elif line.strip() and rows:  # a verse wrapped anyway: continue the last one
            rows[-1] = (f"{rows[-1][0]} {' '.join(line.split())}", rows[-1][1])
    if not rows:
        raise DataError(f"{program}: printed no verses")
    return rows
