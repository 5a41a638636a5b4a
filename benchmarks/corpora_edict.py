"""Japanese dictionary entries as labelled short texts: EDICT's headwords by part of
speech (`edict`), SKK's names and terms by dictionary (`skk-names`), KANJIDIC's kanji by
official list (`kanjidic`).

* `edict` (package `edict`, the JMdict/EDICT project's Japanese-English dictionary,
  CC BY-SA 4.0): each entry's headword and, where it has one, its kana reading
  ("日本 にほん"), labelled by the part of speech of its first sense, coarsened to
  noun, verb, adjective, adverb or expression (JMdict's codes: `n...` and `pn`; `v...`;
  `adj-...`; `adv` and `adv-to`; `exp`). Orthographic marks before it ("(ik)", "(ateji)",
  ...) are skipped; entries whose first sense is another part of speech (particles,
  counters, interjections, ...: under 1% of entries) are dropped. The English glosses
  are left out: the text is Japanese only, short (one or two words), written without
  spaces. A text under two labels is dropped, and so are repeats. Added in the suite's
  second round (held-out).

The file is EUC-JP; its first line (the file's own header, "？？？ /EDICT ...") is skipped.

Added in the suite's fifth round (held-out):

* `skk-names` (package `skkdic-extra`, the SKK project's extra dictionaries for the SKK
  input method, GPL-2+; the Okinawan one public domain): each candidate word of the
  `SKK_DICTIONARIES` files ("藍那駅"), labelled by the dictionary it is in: place
  names (`SKK-JISYO.geo`), personal names (`.jinmei`), full names of people
  (`.fullname`), railway stations (`.station`), proper nouns (companies, eras, schools:
  `.propernoun`), legal terms (`.law`), Okinawan words and places (`.okinawa`), Chinese
  and Taiwanese place names (`.china_taiwan`) and compound words (`.hukugougo`): 9
  classes, very unequal (the place names are most). The candidates'
  annotations (";JR山陽本線", ";姓") are cut, for they often name the dictionary's kind;
  entries read in Latin letters or with an okurigana letter ("わりもどs"), and Lisp
  candidates ("(concat ...)"), are left out; the kana reading (the key SKK looks a word
  up by) is left out too, so a word that two dictionaries hold is seen as one text: under
  two labels it is dropped, and repeats are. Short, written without spaces. SKK's
  dictionaries are not EDICT (the package's `SKK-JISYO.edict`, derived from it, is not
  read), though some words are in both, under other labels.
* `kanjidic` (package `kanjidic`, the EDRDG's KANJIDIC, the same group's licence as
  EDICT): each kanji of the jōyō list (school grades 1 to 6 and the secondary-school
  rest, KANJIDIC's `G1`-`G8`) or of the jinmeiyō list (kanji for personal names, `G9`
  and `G10`), labelled "jōyō" or "jinmeiyō": 2 classes, about 2,100 and 760 rows. The
  text is the kanji, its on and kun readings (katakana, hiragana) and its English
  meanings ("亜 ア つ.ぐ Asia | rank next | come after | -ous"); every index code (stroke
  count, frequency, grade, dictionary numbers, pinyin, ...) and the name readings after
  `T1` are left out. Kanji without a grade are dropped. It shares its publisher, not its
  text or labels, with `edict` (dev).

Example:

    rows = edict_rows()   # [("日本 にほん", "noun"), ("食べる たべる", "verb"), ...]
    rows = skk_name_rows()  # [("アーカンソー州", "place name"), ...]
"""

from __future__ import annotations

import re

from benchmarks.corpora_text import _package_files, unambiguous
from keras_lstm_opt.errors import DataError

EDICT_FILE = "/usr/share/edict/edict"
_ENTRY = re.compile(r"^(\S+)(?: \[([^\]]*)\])? /((?:\([^)]*\)\s*)+)")
_ORTHOGRAPHY = {"ateji", "gikun", "iK", "ik", "io", "oK", "ok", "P", "uK", "uk"}


def part_of_speech(codes: str) -> str | None:
    """The coarse part of speech of the first POS code in `codes` ("(n,vs) (P)"), or
    None when the first is none of the five kept.

    Example:
        part_of_speech("(ik) (v5r,vi)")  # "verb"
    """
    for group in re.findall(r"\(([^)]*)\)", codes):
        for code in group.split(","):
            code = code.strip()
            if not code or code in _ORTHOGRAPHY or code.isdigit():
                continue
            if code == "pn" or code == "n" or code.startswith("n-"):
                return "noun"
            if code.startswith("v") and code != "vulg":
                return "verb"
            if code.startswith("adj-"):
                return "adjective"
            if code in ("adv", "adv-to"):
                return "adverb"
            return "expression" if code == "exp" else None
    return None


def edict_rows() -> list[tuple[str, str]]:
    """(headword and reading, part of speech) for every EDICT entry kept (see the
    module's docstring), in the file's order."""
    path = next(p for p in _package_files("edict") if p == EDICT_FILE)
    with open(path, encoding="euc_jp", errors="replace") as fh:
        lines = fh.read().splitlines()[1:]
    rows = []
    for line in lines:
        match = _ENTRY.match(line)
        label = part_of_speech(match.group(3)) if match else None
        if match and label:
            text = match.group(1) + (f" {match.group(2)}" if match.group(2) else "")
            rows.append((text, label))
    return unambiguous(rows)


# SKK-JISYO.<name> of skkdic-extra: the label of its entries
SKK_DICTIONARIES = {
    "geo": "place name",
    "jinmei": "personal name",
    "fullname": "full name",
    "station": "station",
    "propernoun": "proper noun",
    "law": "legal term",
    "okinawa": "Okinawan",
    "china_taiwan": "China and Taiwan place name",
    "hukugougo": "compound word",
}
_KANA_READING = re.compile(r"^[\u3041-\u3096\u30fc]+$")
KANJIDIC_FILE = "/usr/share/edict/kanjidic"
_KANJI_READING = re.compile(r"^[\u3041-\u30ff.\-]+$")


def _decode(line: bytes) -> str | None:
    """An SKK line as text: EUC-JP, or EUC-JIS-2004 (`SKK-JISYO.fullname`); None if
    neither reads it."""
    for encoding in ("euc_jp", "euc_jis_2004"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def skk_entries(line: str) -> list[str]:
    """The candidate words of one SKK dictionary line, annotations cut; none for a
    comment or a reading that is not all kana (okuri-ari, Latin), no Lisp candidate.

    Example:
        skk_entries("あいおい /相生;JR山陽本線/相老;東武桐生線/")  # ["相生", "相老"]
    """
    reading, sep, rest = line.partition(" /")
    if line.startswith(";") or not sep or not _KANA_READING.match(reading):
        return []
    texts = []
    for candidate in rest.split("/"):
        word = candidate.split(";", 1)[0].strip()
        if word and not word.startswith("(") and "\ufffd" not in word:
            texts.append(word)
    return texts


def skk_name_rows() -> list[tuple[str, str]]:
    """(candidate word, dictionary's kind) for every entry of the
    `SKK_DICTIONARIES` files, dictionary by dictionary (see the module's docstring)."""
    files = {p.rsplit("/SKK-JISYO.", 1)[-1]: p for p in _package_files("skkdic-extra")}
    missing = [name for name in SKK_DICTIONARIES if name not in files]
    if missing:
        raise DataError(
            f"skkdic-extra installs no SKK-JISYO.{missing[0]}; reinstall it with: "
            "apt-get install --reinstall skkdic-extra"
        )
    found = []
    for name, label in SKK_DICTIONARIES.items():
        with open(files[name], "rb") as fh:
            for raw in fh.read().splitlines():
                line = _decode(raw)
                found += [(text, label) for text in skk_entries(line or ";")]
    return unambiguous(found)


def kanjidic_text(line: str) -> tuple[str, str] | None:
    """(the kanji with its readings and meanings, "jōyō" or "jinmeiyō") of one KANJIDIC
    line, or None for a kanji on neither list.

    Example:
        kanjidic_text("亜 3021 U4e9c G8 S7 ア つ.ぐ T1 や {Asia} {rank next}")
        # ("亜 ア つ.ぐ Asia | rank next", "jōyō")
    """
    head, _, meanings = line.partition("{")
    fields = head.split()
    grades = [int(f[1:]) for f in fields[1:] if re.fullmatch(r"G\d+", f)]
    if not fields or not grades:
        return None
    readings = []
    for field in fields[1:]:
        if field in ("T1", "T2"):  # name readings follow
            break
        if _KANJI_READING.match(field):
            readings.append(field)
    senses = [" ".join(m.split()) for m in re.findall(r"([^{}]+)}", "{" + meanings)]
    text = " ".join([fields[0], *readings, " | ".join(s for s in senses if s)])
    return text.strip(), "jōyō" if grades[0] <= 8 else "jinmeiyō"


def kanjidic_rows() -> list[tuple[str, str]]:
    """(kanji, readings and meanings; jōyō or jinmeiyō) for every graded kanji of
    KANJIDIC, in the file's order (see the module's docstring)."""
    path = next((p for p in _package_files("kanjidic") if p == KANJIDIC_FILE), None)
    if path is None:
        raise DataError(
            f"kanjidic installs no {KANJIDIC_FILE}; reinstall it with: "
            "apt-get install --reinstall kanjidic"
        )
    with open(path, encoding="euc_jp", errors="replace") as fh:
        lines = [line for line in fh.read().splitlines() if not line.startswith("#")]
    return unambiguous([row for line in lines if (row := kanjidic_text(line))])
