"""Names from standards' tables as labelled short texts: emoji and ISO code lists.

* `emoji`: the Unicode CLDR annotations of every emoji (package `unicode-cldr-core`,
  Unicode licence) in the `EMOJI_LANGUAGES` languages, labelled by the emoji's group in
  Unicode's `emoji-test.txt` (package `unicode-data`): "Smileys & Emotion", "Animals &
  Nature", "Food & Drink", ... Two groups are left out: "Component" (skin tones, hair
  styles) and "Flags" (the country flags are not in the base annotations, only 8 others:
  a class of 56 rows that would stand for nothing).
  One row per (emoji, language): the spoken name, then the other keywords, joined by
  " | " as CLDR writes them ("grinning face | face | grin"). Symbols that are not emoji
  (brackets, arrows) and values CLDR inherits ("↑↑↑") are left out. Seven languages in
  three scripts (Latin, Cyrillic; Japanese and Chinese without spaces): about 10,700
  short rows, 8 classes, the largest 3.7 times the smallest.
* `iso-codes`: the English names of the `iso-codes` package's tables (LGPL-2.1+),
  labelled by standard: "iso_639" (languages: ISO 639-2, -3 and -5), "iso_3166"
  (countries, current and former: 3166-1 and -3, with their official and common names),
  "iso_3166-2" (country subdivisions), "iso_4217" (currencies), "iso_15924" (scripts).
  A name found under two standards ("Tibetan": a language and a script) is dropped;
  about 13,000 very short rows.
* `iso-codes-ko`: the Korean names of the same tables, from the package's Korean message
  catalogues (`/usr/share/locale/ko/LC_MESSAGES/iso_*.mo`, iso-codes' translators,
  LGPL-2.1+), labelled by standard as `iso-codes` is. A name the catalogue leaves as the
  English one is left out, and so is a Korean name found under two standards (most script
  names: "아랍어" is Arabic the language and the script). Hangul, short: about 1,100
  rows. Added in the suite's fourth round (held-out); the English `iso-codes` is dev, the
  Korean names are text the suite had not held.

Example:

    rows = emoji_rows()               # [("grinning face | face | grin", "Smileys & Emotion"), ...]
"""

from __future__ import annotations

import gettext
import json
import os
import xml.etree.ElementTree as ET

from benchmarks.corpora_text import _package_files, unambiguous
from keras_lstm_opt.errors import DataError

EMOJI_LANGUAGES = ("en", "de", "es", "fr", "ru", "ja", "zh")
EMOJI_SKIP_GROUPS = ("Component", "Flags")
ISO_TABLES = {
    "639-2": "iso_639",
    "639-3": "iso_639",
    "639-5": "iso_639",
    "3166-1": "iso_3166",
    "3166-3": "iso_3166",
    "3166-2": "iso_3166-2",
    "4217": "iso_4217",
    "15924": "iso_15924",
}
_VS16 = "\ufe0f"


def emoji_groups(path: str) -> dict[str, str]:
    """{emoji without U+FE0F: its group} from Unicode's emoji-test.txt."""
    groups: dict[str, str] = {}
    group = ""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("# group:"):
                group = line.split(":", 1)[1].strip()
            elif line.strip() and not line.startswith("#") and ";" in line:
                points = line.split(";", 1)[0].split()
                emoji = "".join(chr(int(p, 16)) for p in points).replace(_VS16, "")
                groups.setdefault(emoji, group)
    return groups


def emoji_rows(languages: tuple[str, ...] = EMOJI_LANGUAGES) -> list[tuple[str, str]]:
    """(name | keywords, emoji group) for every emoji CLDR annotates, language by
    language in `languages` order, emoji in file order."""
    installed = _package_files("unicode-cldr-core", "unicode-data")
    tests = [p for p in installed if p.endswith("/emoji/emoji-test.txt")]
    if not tests:
        raise DataError(
            "unicode-data installs no emoji/emoji-test.txt; install a version "
            "that does with: apt-get install unicode-data"
        )
    groups = emoji_groups(tests[0])
    files = {os.path.basename(p): p for p in installed if "/cldr/common/annotations/" in p}
    rows = []
    for language in languages:
        if f"{language}.xml" not in files:
            raise DataError(f"unicode-cldr-core has no annotations/{language}.xml")
        names: dict[str, str] = {}
        keywords: dict[str, list[str]] = {}
        for node in ET.parse(files[f"{language}.xml"]).getroot().iter("annotation"):
            cp, text = node.get("cp", ""), (node.text or "").strip()
            if not text or text == "↑↑↑":
                continue
            if node.get("type") == "tts":
                names[cp] = text
            else:
                keywords[cp] = [k.strip() for k in text.split("|") if k.strip()]
        for cp, name in names.items():
            group = groups.get(cp.replace(_VS16, ""))
            if group and group not in EMOJI_SKIP_GROUPS:
                words = [name] + [k for k in keywords.get(cp, []) if k != name]
                rows.append((" | ".join(words), group))
    return rows


def iso_code_rows() -> list[tuple[str, str]]:
    """(English name, standard) for every entry of the iso-codes tables, standard by
    standard in `ISO_TABLES` order; names under two standards dropped."""
    files = {
        os.path.basename(p): p
        for p in _package_files("iso-codes")
        if p.endswith(".json") and "/json/iso_" in p
    }
    found = []
    for table, label in ISO_TABLES.items():
        path = files.get(f"iso_{table}.json")
        if path is None:
            raise DataError(
                f"iso-codes has no json/iso_{table}.json; install a version "
                "that does with: apt-get install iso-codes"
            )
        with open(path, encoding="utf-8") as fh:
            entries = json.load(fh)[table]
        for entry in entries:
            for field in ("name", "official_name", "common_name"):
                if entry.get(field):
                    found.append((" ".join(entry[field].split()), label))
    rows = unambiguous(found)
    return rows


def iso_code_translation_rows(language: str) -> list[tuple[str, str]]:
    """(name in `language`, standard) for every entry of the iso-codes tables that the
    package's `language` catalogues translate, standard by standard in `ISO_TABLES` order
    and in each catalogue's order; names under two standards dropped.

    Example:
        iso_code_translation_rows("ko")[0]  # ("압하스어", "iso_639"): Abkhazian
    """
    files = {
        os.path.basename(p): p
        for p in _package_files("iso-codes")
        if f"/locale/{language}/LC_MESSAGES/iso_" in p and p.endswith(".mo")
    }
    if not files:
        raise DataError(
            f"iso-codes has no {language} catalogues (locale/{language}/LC_MESSAGES/iso_*.mo); "
            "install a version that does with: apt-get install iso-codes"
        )
    found = []
    for table, label in ISO_TABLES.items():
        path = files.get(f"iso_{table}.mo")
        if path is None:  # not every standard is translated into every language
            continue
        with open(path, "rb") as fh:
            catalogue = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
        for english, name in catalogue.items():
            if isinstance(english, str) and english and name and name != english:
                found.append((" ".join(name.split()), label))
    return unambiguous(found)


def iso_codes_ko_rows() -> list[tuple[str, str]]:
    """(Korean name, standard) (see the module's docstring)."""
    return iso_code_translation_rows("ko")
