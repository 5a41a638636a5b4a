"""Translated man pages labelled by their section, in eleven languages.

* `manpages-ja` (package `manpages-ja`, the JM project's translations, free documentation
  licences): the pages under `/usr/share/man/ja`, sections 1, 4, 5, 6, 7 and 8.
* `manpages-zh` (package `manpages-zh`, the CMPP translations, GFDL): the simplified
  Chinese pages under `/usr/share/man/zh_CN` (the package's `zh_TW` pages are the same
  pages in traditional characters, so they are left out); sections 1, 2, 3 (with the
  Tcl/Tk pages), 5, 7 and 8 (sections with fewer than `MIN_SECTION_ROWS` pages dropped).

Added in the suite's second round (held-out):

* `manpages-ja-dev` (package `manpages-ja-dev`, same project): the Japanese pages of
  sections 2 and 3 (system calls or library functions: two classes, unspaced);
* `manpages-de` (package `manpages-de`, the manpages-l10n translations, GPL-3+): the
  German pages under `/usr/share/man/de`;
* `manpages-ru` (packages `manpages-ru` and `manpages-ru-dev`, manpages-l10n, GPL-3+):
  the Russian pages under `/usr/share/man/ru`, Cyrillic.

Added in the suite's third round (held-out): `manpages-fr`, `manpages-es`, `manpages-pl`
and `manpages-uk` (packages of the same names, manpages-l10n, GPL-3+): the French,
Spanish, Polish and Ukrainian (Cyrillic) pages under `/usr/share/man/<language>`.

Added in the suite's fourth round (held-out):

* `manpages-tr` (package `manpages-tr`, the Turkish Linux Documentation Project's
  translations, not manpages-l10n's; the original pages' licences, GPL for the rest): the
  pages under `/usr/share/man/tr`, user commands or administration (2 classes);
* `manpages-nl` (packages `manpages-nl` and `manpages-nl-dev`, manpages-l10n, GPL-3+): the
  Dutch pages under `/usr/share/man/nl`, user commands or system calls (2 classes);
* `manpages-pt-br` (packages `manpages-pt-br` and `manpages-pt-br-dev`, manpages-l10n,
  GPL-3+): the Brazilian Portuguese pages under `/usr/share/man/pt_BR`, six sections, most
  of them library functions.

The other languages of manpages-l10n in Debian 12 give under 150 rows (Italian and Czech
with their `-dev` packages: 91 and 111; Hungarian, Finnish, Romanian, Macedonian,
Indonesian; Greek: five pages) or a single section of at least `MIN_SECTION_ROWS` pages
(Danish, Swedish, Norwegian, Serbian, Vietnamese); Debian 12 has no Korean man pages.

German, Russian and the later rounds' languages are spaced, so their pages are cut at
`MAN_WORDS` words as `manpages` is. Each page's NAME and DESCRIPTION sections are read like
`manpages` does (`man_text`: troff markup stripped, `.so` links skipped), with the
translated headings ("名前", "説明", "描述 DESCRIPTION", ...) recognised. Words are few in
unspaced text, so a page is cut at `CJK_CHARS` characters instead of `MAN_WORDS` words (300
English words are about 1,800 characters; 600 CJK characters carry about as much).

Example:

    rows = manpages_ja_rows()   # [("ls - ディレクトリの内容を一覧表示 ...", "1 user commands")]
"""

from __future__ import annotations

import collections
import re

from benchmarks.corpora_text import MAN_WORDS, _package_files, man_pages, man_text

CJK_CHARS = 600
MIN_SECTION_ROWS = 10
SECTION_NAMES = {
    "1": "1 user commands",
    "2": "2 system calls",
    "3": "3 library functions",
    "4": "4 special files",
    "5": "5 file formats",
    "6": "6 games",
    "7": "7 overviews",
    "8": "8 administration",
}
_NAME = {"NAME", "名前", "名称", "名稱", "BEZEICHNUNG", "ИМЯ", "НАЗВАНИЕ"}
_NAME |= {"NOM", "NOMBRE", "NAZWA", "НАЗВА"}  # fr, es, pl, uk
_DESCRIPTION = {"DESCRIPTION", "説明", "解説", "描述", "说明", "BESCHREIBUNG", "ОПИСАНИЕ"}
_DESCRIPTION |= {"DESCRIPCIÓN", "OPIS", "ОПИС"}  # es, pl, uk (fr: DESCRIPTION)
_NAME |= {"İSİM", "NAAM", "NOME"}  # tr, nl, pt_BR
_DESCRIPTION |= {"AÇIKLAMA", "BESCHRIJVING", "DESCRIÇÃO"}  # tr, nl, pt_BR


def _english_headings(source: str) -> str:
    """The page with each translated NAME/DESCRIPTION heading written `.SH NAME` /
    `.SH DESCRIPTION`, so that `man_text` finds them."""

    def heading(match: re.Match) -> str:
        words = set(re.findall(r"[^\s()\"（）]+", match.group(1).upper()))
        if words & _NAME:
            return ".SH NAME"
        if words & _DESCRIPTION:
            return ".SH DESCRIPTION"
        return match.group(0)

    return re.sub(r"^\.SH(.*)$", heading, source, flags=re.MULTILINE)


def cjk_man_rows(
    package: str | tuple[str, ...], locale: str, chars: int | None = CJK_CHARS
) -> list[tuple[str, str]]:
    """(page text, section) for every page of `package` (or packages) under
    /usr/share/man/<locale> that is not a link, in path order; texts cut at `chars`
    characters (None: at `MAN_WORDS` words, for spaced scripts); sections with fewer
    than `MIN_SECTION_ROWS` pages dropped."""
    packages = (package,) if isinstance(package, str) else package
    pattern = re.compile(rf"/man/{re.escape(locale)}/man(\d)/[^/]+\.\d\w*\.gz$")
    rows = []
    for match, source in man_pages(_package_files(*packages), pattern.pattern):
        text = man_text(_english_headings(source), words=chars or MAN_WORDS)
        text = text[:chars].strip() if chars else text
        if len(text) >= 10:
            rows.append((text, SECTION_NAMES[match.group(1)]))
    counts = collections.Counter(label for _, label in rows)
    return [row for row in rows if counts[row[1]] >= MIN_SECTION_ROWS]


def manpages_ja_rows() -> list[tuple[str, str]]:
    """Japanese man pages by section (see the module's docstring)."""
    return cjk_man_rows("manpages-ja", "ja")


def manpages_zh_rows() -> list[tuple[str, str]]:
    """Simplified Chinese man pages by section (see the module's docstring)."""
    return cjk_man_rows("manpages-zh", "zh_CN")


def manpages_ja_dev_rows() -> list[tuple[str, str]]:
    """Japanese man pages of sections 2 and 3 (see the module's docstring)."""
    return cjk_man_rows("manpages-ja-dev", "ja")


def manpages_de_rows() -> list[tuple[str, str]]:
    """German man pages by section, 300 words (see the module's docstring)."""
    return cjk_man_rows("manpages-de", "de", chars=None)


def manpages_ru_rows() -> list[tuple[str, str]]:
    """Russian man pages by section, 300 words (see the module's docstring)."""
    return cjk_man_rows(("manpages-ru", "manpages-ru-dev"), "ru", chars=None)


def manpages_fr_rows() -> list[tuple[str, str]]:
    """French man pages by section, 300 words (round 3, held-out)."""
    return cjk_man_rows("manpages-fr", "fr", chars=None)


def manpages_es_rows() -> list[tuple[str, str]]:
    """Spanish man pages by section, 300 words (round 3, held-out)."""
    return cjk_man_rows("manpages-es", "es", chars=None)


def manpages_pl_rows() -> list[tuple[str, str]]:
    """Polish man pages by section, 300 words (round 3, held-out)."""
    return cjk_man_rows("manpages-pl", "pl", chars=None)


def manpages_uk_rows() -> list[tuple[str, str]]:
    """Ukrainian man pages by section, 300 words (round 3, held-out)."""
    return cjk_man_rows("manpages-uk", "uk", chars=None)


def manpages_tr_rows() -> list[tuple[str, str]]:
    """Turkish man pages by section, 300 words (round 4, held-out)."""
    return cjk_man_rows("manpages-tr", "tr", chars=None)


def manpages_nl_rows() -> list[tuple[str, str]]:
    """Dutch man pages by section, 300 words (round 4, held-out)."""
    return cjk_man_rows(("manpages-nl", "manpages-nl-dev"), "nl", chars=None)


def manpages_pt_br_rows() -> list[tuple[str, str]]:
    """Brazilian Portuguese man pages by section, 300 words (round 4, held-out)."""
    return cjk_man_rows(("manpages-pt-br", "manpages-pt-br-dev"), "pt_BR", chars=None)
