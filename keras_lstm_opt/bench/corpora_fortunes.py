"""Fortune cookies in other languages, each labelled by its cookie file.

* `fortunes-ru` (Cyrillic; package `fortunes-ru`, GPL-2): the topic files
  under `/usr/share/games/fortunes/ru` ("love", "polit", "computer", ...). The files
  named by a month ("2001.03" ... "2006.03") are monthly batches, not topics, and are
  left out. About 21,000 rows, about 70 classes.
* `fortunes-es` (package `fortunes-es`, GPL-2+, the
  sayings themselves presumed public domain): the `*.fortunes` files of
  `/usr/share/games/fortunes/es` ("refranes", "sabiduria", ...), the offensive `off/`
  directory left out like `fortunes` does: about 11,000 rows, 24 very unequal classes.
* `fortunes-zh` (package `fortunes-zh`, GPL-3+): the three files "chinese", "tang300" and
  "song100" (modern sayings, Tang and Song poems), unspaced Chinese. The text is kept as
  the package has it, ANSI colour escapes ("\\x1b[33m") and all: the noisy corpus of the
  held-out half. Cut at `ZH_CHARS` characters like the CJK man pages.

As in `fortunes`, a cookie's lines are joined by single spaces; symbolic links and the
`.dat` indexes are skipped.

Example:

    rows = cookie_rows("fortunes-ru")  # [("...", "love"), ...]
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from keras_lstm_opt.bench.corpora_text import _package_files

ZH_CHARS = 1000
_MONTH = re.compile(r"^\d{4}\.\d{2}$")
# package: (directory of its cookie files, whether a file name is a topic, label of it)
COOKIE_SETS: dict[str, tuple[str, Callable[[str], bool], Callable[[str], str]]] = {
    "fortunes-ru": ("/usr/share/games/fortunes/ru",
                    lambda name: not _MONTH.match(name) and not name.endswith(".dat"),
                    lambda name: name),
    "fortunes-es": ("/usr/share/games/fortunes/es",
                    lambda name: name.endswith(".fortunes"),
                    lambda name: name[:-len(".fortunes")]),
    "fortunes-zh": ("/usr/share/games/fortunes",
                    lambda name: "." not in name,
                    lambda name: name),
}


def cookie_rows(package: str, chars: int | None = None) -> list[tuple[str, str]]:
    """(cookie, file label) for every cookie of `package`'s topic files, in path order;
    each text cut at `chars` characters when given."""
    directory, is_topic, label_of = COOKIE_SETS[package]
    rows = []
    for path in _package_files(package):
        name = os.path.basename(path)
        if os.path.dirname(path) != directory or not is_topic(name):
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for cookie in re.split(r"^%\s*$", fh.read(), flags=re.MULTILINE):
                text = " ".join(cookie.split())
                if text:
                    rows.append((text[:chars] if chars else text, label_of(name)))
    return rows


def fortunes_ru_rows() -> list[tuple[str, str]]:
    """Russian cookies by topic file (see the module's docstring)."""
    return cookie_rows("fortunes-ru")


def fortunes_es_rows() -> list[tuple[str, str]]:
    """Spanish cookies by file (see the module's docstring)."""
    return cookie_rows("fortunes-es")


def fortunes_zh_rows() -> list[tuple[str, str]]:
    """Chinese cookies by file, escapes kept, cut at `ZH_CHARS` characters."""
    return cookie_rows("fortunes-zh", ZH_CHARS)
