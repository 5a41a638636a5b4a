"""Scripture verses labelled by where they stand: the King James Bible's by book (`kjv`),
the Dhammapada's by chapter (`dhammapada`).

`kjv`: Debian's `bible-kjv-text` holds the text (public domain) in its own compressed format,
which only `bible-kjv`'s `bible` program reads: the builder runs that program for the
whole range Genesis 1:1 to Revelation 22:21, one unwrapped line per verse, and labels
each verse by its book: 31,102 rows, 66 classes ("Genesis", "1 Chronicles", ...; from
Psalms' 2,461 verses down to 2 John's 13), median about 25 words.

`dhammapada` (package `display-dhammapada`; John Richards' 1993 English translation from
the Pali, public domain): the 423 verses of the Dhammapada, an anthology "arranged by
subject", labelled by their chapter ("The Pairs", "Flowers", ..., "The brahmin": 26
classes). The translation gives some verses together in one paragraph numbered "58, 59";
a paragraph is a row, its verse numbers cut off: 391 rows, 10 to 41 a chapter. Added in
the suite's fourth round (held-out).

Example:

    rows = kjv_rows()                 # [("In the beginning God created ...", "Genesis"), ...]
    rows = dhammapada_rows()          # [("Mind precedes its objects. ...", "The Pairs"), ...]
"""

from __future__ import annotations

import re
import subprocess

from benchmarks.corpora_text import _package_files
from keras_lstm_opt.errors import DataError

KJV_PACKAGES = ("bible-kjv", "bible-kjv-text")
_HEADER = re.compile(r"^(\S.*?) (\d+)$")  # "1 Chronicles 29"
_VERSE = re.compile(r"^\s+(\d+) (.*)$")  # "  12 And ..."
DHAMMAPADA_FILE = "/usr/share/display-dhammapada/dhammapada-english-transl.txt"
_DHAMMAPADA_START = "(An Anthology of Verses)"
_CHAPTER = re.compile(r"^(\d+)\. (\S.*)$")  # "1. The Pairs"
_VERSE_NUMBERS = re.compile(r"\s(\d+(?:\s*,\s*\d+)*)\s*$")  # "... the feet of the animal. 1"


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


def dhammapada_rows() -> list[tuple[str, str]]:
    """(verse or verses, chapter title) for every numbered paragraph of the Dhammapada's
    English translation, in the book's order (see the module's docstring)."""
    path = next((p for p in _package_files("display-dhammapada") if p == DHAMMAPADA_FILE), None)
    if path is None:
        raise DataError(
            f"display-dhammapada installs no {DHAMMAPADA_FILE}; reinstall it with: "
            "apt-get install --reinstall display-dhammapada"
        )
    with open(path, encoding="utf-8") as fh:
        _, _, book = fh.read().partition(_DHAMMAPADA_START)
    rows, chapter, expected = [], "", 1
    for paragraph in re.split(r"\n\s*\n", book):
        text = " ".join(paragraph.split())
        heading = _CHAPTER.match(text)
        if heading and int(heading.group(1)) == expected:
            chapter, expected = heading.group(2), expected + 1
        elif (numbers := _VERSE_NUMBERS.search(text)) and chapter:
            rows.append((text[: numbers.start()].strip(), chapter))
    if not rows:
        raise DataError(f"{path}: no numbered verses after {_DHAMMAPADA_START!r}")
    return rows
