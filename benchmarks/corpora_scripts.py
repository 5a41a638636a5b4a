"""Corpora of the suite's sixth round (issue 30), in scripts the suite had few of:
Greek and Hebrew, Cyrillic, Vietnamese, Japanese and the day and month names of
glibc's locales in some sixty scripts and languages.

* `strongs` (packages `sword-dict-strongs-greek` and `sword-dict-strongs-hebrew`,
  public domain): Strong's dictionaries of the Bible's Greek and Hebrew words, each
  entry (its headword in Greek or Hebrew letters, transliteration and definition) one
  row labelled by its dictionary: 2 classes, about 5,600 and 8,700 rows. The SWORD
  zLD modules are read directly (`sword_entries`); cross references ("G1100",
  "H0175"), whose letter names the dictionary, and the beta code and pronunciations
  are left out. The suite's `kjv` reads the King James Bible, not these dictionaries.
* `locale-names` (package `locales`, glibc's locale sources; public domain or free
  licences per file): the day and month names (full, abbreviated and the alternative
  forms of `LC_TIME`) of every locale source that defines its own `LC_TIME`, labelled
  by the language its `LC_IDENTIFICATION` names ("Greek", "Thai", "Amharic", ...):
  short, 178 classes, many scripts. A name given by two languages is dropped
  (`unambiguous`). CLDR, which the suite's `emoji` reads, has such names too; the suite
  never read glibc's.
* `faq-ru` (package `debian-faq-ru`, GPL-2+): the Debian FAQ in Russian, each answer
  (the text between two headings) labelled by its chapter ("Определения и краткий
  обзор", ...): 16 classes, Cyrillic with commands, paths and a few untranslated
  paragraphs. No other corpus of the suite reads the Debian FAQ.
* `maint-guide-vi` (package `maint-guide-vi`, MIT-style: the Debian New Maintainers'
  Guide in Vietnamese), sections by chapter the same way: about 80 rows in 10 classes,
  Latin with Vietnamese diacritics, file names and shell commands among the text.
* `maint-guide-ja` (package `maint-guide-ja`): the same guide in Japanese, the same
  chapters as labels (so the two overlap in source and labels, in two languages), cut
  at `CJK_CHARS` characters, written without spaces: long, with commands: noisy. The
  Japanese Developer's Reference was left out: a third of it is untranslated.

Headings are always left out: their numbers name the chapter. Every builder reads only
its packages' files (`dpkg -L`) and passes its rows through `unambiguous()`.

Example:

    rows = strongs_rows()      # [("Ἀαρών Aarṓn of Hebrew origin; Aaron, ...", "Greek"), ...]
"""

from __future__ import annotations

import re
import struct
import zlib

from benchmarks.corpora_guides import CJK_CHARS, MIN_SECTION_CHARS, chapter_sections
from benchmarks.corpora_text import package_files_matching, unambiguous

STRONGS = {"sword-dict-strongs-greek": "Greek", "sword-dict-strongs-hebrew": "Hebrew"}
TIME_KEYS = ("day", "abday", "mon", "abmon", "alt_mon", "ab_alt_mon")
_ZLD_DAT = re.compile(r"/modules/lexdict/zld/[^/]+/dict\.dat$")
_DROP = re.compile(
    r"<ref\b[^>]*>.*?</ref>|<orth[^>]*type=\"writing\"[^>]*>.*?</orth>|<pron\b[^>]*>.*?</pron>",
    re.DOTALL,
)
_UCS = re.compile(r"<U([0-9A-Fa-f]{4,6})>")
_CHAPTER_NUMBER = re.compile(r"^(Глава|Приложение|Chương|Phụ lục)\s+\w+\.\s*|^付録\s*[A-Z]\.?\s*")


def sword_entries(idx: bytes, dat: bytes, zdx: bytes, zdt: bytes) -> list[str]:
    """The entries of a SWORD zLD dictionary module in key order, from its four files:
    `dict.idx` (offset and size of each key record in `dict.dat`), `dict.dat` (key,
    CR LF, block and entry numbers), `dict.zdx` (offset and size of each zlib block in
    `dict.zdt`) and `dict.zdt` (blocks: a count, then offset and size of each entry)."""
    blocks: dict[int, bytes] = {}
    entries = []
    for at in range(0, len(idx) - 7, 8):
        offset, size = struct.unpack_from("<II", idx, at)
        record = dat[offset : offset + size]
        _, _, rest = record.partition(b"\n")
        if len(rest) < 8:
            continue
        block_no, entry_no = struct.unpack_from("<II", rest)
        if block_no not in blocks:
            start, length = struct.unpack_from("<II", zdx, block_no * 8)
            blocks[block_no] = zlib.decompress(zdt[start : start + length])
        block = blocks[block_no]
        if entry_no >= struct.unpack_from("<I", block)[0]:
            continue
        start, length = struct.unpack_from("<II", block, 4 + entry_no * 8)
        entries.append(block[start : start + length].rstrip(b"\0").decode("utf-8", "replace"))
    return entries


def strongs_text(entry: str) -> str:
    """An entry of Strong's dictionaries (TEI) as plain words: headword,
    transliteration and definition, without cross references, beta code, pronunciation,
    braces or tags."""
    text = re.sub(r"\(\s*\)", "", re.sub(r"<[^>]+>", " ", _DROP.sub(" ", entry)))
    return " ".join(text.replace("{", "").replace("}", "").split())


def strongs_rows() -> list[tuple[str, str]]:
    """(entry text, "Greek" or "Hebrew") for every entry of Strong's two dictionaries."""
    found = []
    for package, label in STRONGS.items():
        for dat_path in package_files_matching(package, _ZLD_DAT, "SWORD zLD dictionary"):
            base = dat_path[: -len(".dat")]
            files = []
            for ext in (".idx", ".dat", ".zdx", ".zdt"):
                with open(base + ext, "rb") as fh:
                    files.append(fh.read())
            for entry in sword_entries(*files):
                text = strongs_text(entry)
                if len(text.split()) >= 3:
                    found.append((text, label))
    return unambiguous(found)


def locale_time_names(source: str) -> tuple[str, list[str]]:
    """(the language its LC_IDENTIFICATION names, its own LC_TIME day and month names)
    of a glibc locale source; no names when its LC_TIME copies another locale's."""
    source = re.sub(r"/\s*\n", " ", source)  # continued lines
    language = re.search(r'^language\s+"([^"]*)"', source, re.MULTILINE)
    section = re.search(r"^LC_TIME\s*$(.*?)^END LC_TIME", source, re.MULTILINE | re.DOTALL)
    names: list[str] = []
    if section:
        for line in section.group(1).splitlines():
            key, _, values = line.strip().partition(" ")
            if key in TIME_KEYS:
                for value in re.findall(r'"([^"]*)"', values):
                    name = _UCS.sub(lambda m: chr(int(m.group(1), 16)), value).strip()
                    if name and name not in names:
                        names.append(name)
    return (language.group(1).strip() if language else ""), names


def locale_names_rows() -> list[tuple[str, str]]:
    """(day or month name, language) for every glibc locale source with its own
    LC_TIME, in file order."""
    found = []
    for path in package_files_matching(
        "locales", re.compile(r"/usr/share/i18n/locales/[a-z]+_[A-Z]+[^/]*$"), "locale sources"
    ):
        with open(path, encoding="utf-8", errors="replace") as fh:
            language, names = locale_time_names(fh.read())
        if language:
            found += [(name, language) for name in names]
    return unambiguous(found)


def _docbook_rows(package: str, pattern: str, wanted: str) -> list[tuple[str, str]]:
    """(section text, chapter title) for the sections of a DocBook HTML book."""
    found = []
    for path in package_files_matching(package, re.compile(pattern), wanted):
        if "/index." in path:
            continue
        with open(path, encoding="utf-8") as fh:
            title, sections = chapter_sections(fh.read())
        title = _CHAPTER_NUMBER.sub("", title).strip()
        found += [(text, title) for text in sections if title and len(text) >= MIN_SECTION_CHARS]
    return unambiguous(found)


def faq_ru_rows() -> list[tuple[str, str]]:
    """(answer, chapter title) for every answer of the Russian Debian FAQ."""
    return _docbook_rows("debian-faq-ru", r"/FAQ/ru/[\w-]+\.ru\.html$", "FAQ chapters")


def maint_guide_vi_rows() -> list[tuple[str, str]]:
    """(section text, chapter title) of the Vietnamese New Maintainers' Guide."""
    return _docbook_rows("maint-guide-vi", r"/html/[\w-]+\.vi\.html$", "guide chapters")


def maint_guide_ja_rows(chars: int = CJK_CHARS) -> list[tuple[str, str]]:
    """(section text, chapter title) of the Japanese New Maintainers' Guide, texts cut at
    `chars` characters (`chapter_sections` has dropped the line breaks between Japanese
    characters)."""
    rows = _docbook_rows("maint-guide-ja", r"/html/[\w-]+\.ja\.html$", "guide chapters")
    return unambiguous([(text[:chars].strip(), title) for text, title in rows])
