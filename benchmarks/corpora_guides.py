"""Sections of a translated handbook labelled by their chapter: the Debian Reference in
Simplified Chinese (`debian-ref-zh`).

* `debian-ref-zh` (package `debian-reference-zh-cn`, Osamu Aoki's Debian Reference 2.x,
  Chinese translation; GPL-2+ or any DFSG-compatible GPL version): the HTML chapters
  `/usr/share/debian-reference/chNN.zh-cn.html`, each numbered section ("3.1.2.") one
  row, labelled by its chapter's title ("系统初始化", "网络设置", ...: 12 classes, from
  "系统技巧"'s hundred-odd sections down to about a dozen). The text is everything
  between a section's heading and the next heading: paragraphs, lists, the package
  tables (names, popcon figures, sizes) and the shell sessions (`pre`), so commands,
  paths and URLs stand among the Chinese: noisy. Headings, table titles ("表 3.1. ...")
  and cross references ("3.1.4 节 ...") are left out, since their numbers name the
  chapter. Whitespace between two CJK characters is a line break of the HTML source and
  is dropped; texts are cut at `CJK_CHARS` characters (written without spaces, as
  `manpages-zh` is) and sections with fewer than `MIN_SECTION_CHARS` are dropped (a
  heading over its subsections). The preface and the appendix are left out. Added in
  the suite's fifth round (held-out); no other corpus of the suite reads this book.

Example:

    rows = debian_reference_zh_rows()   # [("启动系统之后 ...", "GNU/Linux 教程"), ...]
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from benchmarks.corpora_manpages import CJK_CHARS
from benchmarks.corpora_text import package_files_matching, unambiguous

MIN_SECTION_CHARS = 30
_CHAPTER_FILE = re.compile(r"/debian-reference/ch(\d+)\.zh-cn\.html$")
_CHAPTER_TITLE = re.compile(r"<h1 class=\"title\">(.*?)</h1>", re.DOTALL)
# CJK punctuation, kana, Han and full-width forms: scripts written without spaces
_CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_BLOCKS = {"p", "li", "td", "th", "tr", "pre", "dt", "dd", "div", "br", "table"}


def cjk_join(text: str) -> str:
    """`text` with runs of whitespace collapsed to one space, and none left between two
    CJK characters (Han, kana: a line break inside a Chinese or Japanese sentence).

    Example:
        cjk_join("迷你 Debian\\n系统的\\n步骤")  # "迷你 Debian 系统的步骤"
    """
    return _CJK_GAP.sub("", " ".join(text.split()))


class _Sections(HTMLParser):
    """The text of each section of a DocBook HTML chapter, headings left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self._parts: list[str] = []
        self._skip: list[str] = []  # open elements whose text is left out

    def _flush(self) -> None:
        self.sections.append(cjk_join("".join(self._parts)))
        self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._skip:
            if tag == self._skip[-1] and tag not in ("br",):
                self._skip.append(tag)  # the same element nested: count it
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._skip.append(tag)
        elif (tag == "p" and "title" in classes) or (tag == "a" and "xref" in classes):
            self._skip.append(tag)
        elif tag in _BLOCKS:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag == self._skip[-1]:
            self._skip.pop()
        elif not self._skip and tag in _BLOCKS:
            self._parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def chapter_sections(html: str) -> tuple[str, list[str]]:
    """(chapter title without its number, the text of each section) of one chapter of
    a DocBook HTML book; the table of contents and the navigation are left out.

    Example:
        chapter_sections(open("ch03.zh-cn.html").read())[0]  # "系统初始化"
    """
    match = _CHAPTER_TITLE.search(html)
    title = cjk_join(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""
    title = re.sub(r"^第\s*\d+\s*章\s*|^Chapter\s+\d+\.\s*", "", title)
    start = html.find('<div class="section">')
    end = html.find('<div class="navfooter">')
    parser = _Sections()
    parser.feed(html[start : end if end > start else len(html)] if start >= 0 else "")
    parser.close()
    return title, [text for text in parser.sections if text]


def debian_reference_zh_rows(chars: int = CJK_CHARS) -> list[tuple[str, str]]:
    """(section text, chapter title) for every section of the Simplified Chinese Debian
    Reference's numbered chapters, chapter by chapter (see the module's docstring)."""
    chapters = package_files_matching(
        "debian-reference-zh-cn", _CHAPTER_FILE, "/usr/share/debian-reference/chNN.zh-cn.html"
    )
    found = []
    for path in chapters:
        with open(path, encoding="utf-8") as fh:
            title, sections = chapter_sections(fh.read())
        found += [
            (text[:chars].strip(), title) for text in sections if len(text) >= MIN_SECTION_CHARS
        ]
    return unambiguous(found)
