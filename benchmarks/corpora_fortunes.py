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
* `fortunes-it-off` (packages `fortunes-it` and `fortunes-it-off`, collected quotations
  the authors declare public domain): Italian cookies labelled by content, "offensive"
  (the "-o" files of `/usr/share/games/fortunes/off/it`) or "inoffensive" (those of
  `/usr/share/games/fortunes/it`): 2 classes, the only corpus of the suite labelled for
  offensiveness. Debian bookworm has no English `fortunes-off` (the package was dropped),
  hence Italian. A cookie found under both labels is dropped.
* `fortunes-de` (package `fortunes-de`, GPL-2+), `fortunes-pl` (package `fortunes-pl`,
  GPL-2+; many files are quotes from IRC channels and Usenet, typos, nicknames and
  ASCII art kept: noisy) and `fortunes-bg` (package `fortunes-bg`, GPL-2; Bulgarian,
  Cyrillic): every cookie file of `/usr/share/games/fortunes/{de,pl,bg}`, labelled by its
  file. Added in the suite's second round (held-out).
* `fortunes-cs` (package `fortunes-cs`, GPL-2+; Czech and Slovak: every cookie file of
  `/usr/share/games/fortunes/cs`) and `fortunes-mario` (package `fortunes-mario`, GPL-2+;
  Brazilian Portuguese: the `mario.*` files of `/usr/share/games/fortunes`, among them
  anagrams, palindromes, ASCII art and jokes: noisy), labelled by file. Added in the
  suite's third round (held-out).

As in `fortunes`, a cookie's lines are joined by single spaces; symbolic links and the
`.dat` indexes are skipped. A file whose strfile index (`.dat`) has the STR_ROTATED flag
(offensive cookies are often stored rot13-encoded) is decoded.

Example:

    rows = cookie_rows("fortunes-ru")  # [("...", "love"), ...]
"""

from __future__ import annotations

import codecs
import os
import re
import struct
from collections.abc import Callable

from benchmarks.corpora_text import _package_files

ZH_CHARS = 1000
STR_ROTATED = 0x4  # strfile(8): the cookies are rot13-encoded
_MONTH = re.compile(r"^\d{4}\.\d{2}$")


def _cookie_file(name: str) -> bool:
    return not name.endswith((".dat", ".u8"))


# package: (directory of its cookie files, whether a file name is a topic, label of it)
COOKIE_SETS: dict[str, tuple[str, Callable[[str], bool], Callable[[str], str]]] = {
    "fortunes-ru": (
        "/usr/share/games/fortunes/ru",
        lambda name: not _MONTH.match(name) and not name.endswith(".dat"),
        lambda name: name,
    ),
    "fortunes-es": (
        "/usr/share/games/fortunes/es",
        lambda name: name.endswith(".fortunes"),
        lambda name: name[: -len(".fortunes")],
    ),
    "fortunes-zh": ("/usr/share/games/fortunes", lambda name: "." not in name, lambda name: name),
    "fortunes-it": (
        "/usr/share/games/fortunes/it",
        lambda name: "." not in name,
        lambda name: "inoffensive",
    ),
    "fortunes-it-off": (
        "/usr/share/games/fortunes/off/it",
        lambda name: "." not in name,
        lambda name: "offensive",
    ),
    "fortunes-de": ("/usr/share/games/fortunes/de", _cookie_file, lambda name: name),
    "fortunes-pl": ("/usr/share/games/fortunes/pl", _cookie_file, lambda name: name),
    "fortunes-bg": ("/usr/share/games/fortunes/bg", _cookie_file, lambda name: name),
    "fortunes-cs": ("/usr/share/games/fortunes/cs", _cookie_file, lambda name: name),
    "fortunes-mario": (
        "/usr/share/games/fortunes",
        lambda name: name.startswith("mario.") and not name.endswith(".dat"),
        lambda name: name[len("mario.") :],
    ),
}


def rotated(path: str) -> bool:
    """Whether the cookie file at `path` is rot13-encoded, as its strfile index
    `path + ".dat"` says (False without an index).

    Example:
        rotated("/usr/share/games/fortunes/es/off/varios.fortunes")  # True
    """
    try:
        with open(path + ".dat", "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    # version, number of cookies, longest, shortest, flags: big-endian 32-bit words
    return len(header) == 20 and bool(struct.unpack(">5I", header)[4] & STR_ROTATED)


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
            content = fh.read()
        if rotated(path):
            content = codecs.decode(content, "rot13")
        for cookie in re.split(r"^%\s*$", content, flags=re.MULTILINE):
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


def fortunes_it_off_rows() -> list[tuple[str, str]]:
    """Italian cookies labelled "offensive" then "inoffensive"; a cookie under both
    labels dropped (see the module's docstring).

    Example:
        {label for _, label in fortunes_it_off_rows()}  # {"offensive", "inoffensive"}
    """
    _package_files("fortunes-it", "fortunes-it-off")  # a missing one: name both
    found = cookie_rows("fortunes-it-off") + cookie_rows("fortunes-it")
    labels_of: dict[str, set[str]] = {}
    for text, label in found:
        labels_of.setdefault(text, set()).add(label)
    return [(text, label) for text, label in found if len(labels_of[text]) == 1]


def fortunes_de_rows() -> list[tuple[str, str]]:
    """German cookies by file (see the module's docstring)."""
    return cookie_rows("fortunes-de")


def fortunes_pl_rows() -> list[tuple[str, str]]:
    """Polish cookies by file, IRC quotes and typos kept (see the module's docstring)."""
    return cookie_rows("fortunes-pl")


def fortunes_bg_rows() -> list[tuple[str, str]]:
    """Bulgarian cookies by file (see the module's docstring)."""
    return cookie_rows("fortunes-bg")


def fortunes_cs_rows() -> list[tuple[str, str]]:
    """Czech and Slovak fortune cookies by file (round 3, held-out)."""
    return cookie_rows("fortunes-cs")


def fortunes_mario_rows() -> list[tuple[str, str]]:
    """Brazilian Portuguese fortune cookies by file, `mario.*` (round 3, held-out)."""
    return cookie_rows("fortunes-mario")
