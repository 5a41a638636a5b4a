"""Japanese dictionary headwords labelled by their part of speech: EDICT, from `edict`.

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

Example:

    rows = edict_rows()   # [("日本 にほん", "noun"), ("食べる たべる", "verb"), ...]
"""

from __future__ import annotations

import re

from benchmarks.corpora_text import _package_files, unambiguous

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
