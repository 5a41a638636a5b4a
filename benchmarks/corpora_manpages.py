"""Japanese and Chinese man pages labelled by their section: text written without spaces.

* `manpages-ja` (package `manpages-ja`, the JM project's translations, free documentation
  licences): the pages under `/usr/share/man/ja`, sections 1, 4, 5, 6, 7 and 8.
* `manpages-zh` (package `manpages-zh`, the CMPP translations, GFDL): the simplified
  Chinese pages under `/usr/share/man/zh_CN` (the package's `zh_TW` pages are the same
  pages in traditional characters, so they are left out); sections 1, 2, 3 (with the
  Tcl/Tk pages), 5, 7 and 8 (sections with fewer than `MIN_SECTION_ROWS` pages dropped).

Each page's NAME and DESCRIPTION sections are read like `manpages` does (`man_text`:
troff markup stripped, `.so` links skipped), with the translated headings ("名前",
"説明", "描述 DESCRIPTION", ...) recognised. Words are few in unspaced text, so a page is
cut at `CJK_CHARS` characters instead of `MAN_WORDS` words (300 English words are about
1,800 characters; 600 CJK characters carry about as much).

Example:

    rows = manpages_ja_rows()   # [("ls - ディレクトリの内容を一覧表示 ...", "1 user commands")]
"""

from __future__ import annotations

import collections
import re

from benchmarks.corpora_text import _package_files, man_pages, man_text

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
_NAME = {"NAME", "名前", "名称", "名稱"}
_DESCRIPTION = {"DESCRIPTION", "説明", "解説", "描述", "说明"}


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


def cjk_man_rows(package: str, locale: str, chars: int = CJK_CHARS) -> list[tuple[str, str]]:
    """(page text, section) for every page of `package` under /usr/share/man/<locale>
    that is not a link, in path order; texts cut at `chars` characters."""
    pattern = re.compile(rf"/man/{re.escape(locale)}/man(\d)/[^/]+\.\d\w*\.gz$")
    rows = []
    for match, source in man_pages(_package_files(package), pattern.pattern):
        text = man_text(_english_headings(source), words=chars)[:chars].strip()
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
