"""The builders of the corpus suite's sixth round (issue 30), on small inputs written here.

Each parses the format of its Debian package's files (SWORD zLD modules, Strong's TEI
entries, glibc locale sources, DocBook chapter titles) without the package;
`test_corpora_suite` builds and measures the real corpora where their packages are
installed. Nothing is trained.
"""

from __future__ import annotations

import struct
import zlib


def test_sword_zld_entries_are_read_through_both_indexes():
    from benchmarks.corpora_scripts import sword_entries

    texts = [b"first\0", b"second"]
    offsets, body, at = b"", b"", 4 + 8 * len(texts)
    for text in texts:
        offsets += struct.pack("<II", at + len(body), len(text))
        body += text
    zdt = zlib.compress(struct.pack("<I", len(texts)) + offsets + body)
    zdx = struct.pack("<II", 0, len(zdt))
    dat, idx = b"", b""
    for n, key in enumerate((b"00001", b"00002")):
        record = key + b"\r\n" + struct.pack("<II", 0, n) + b"\r\n"
        idx += struct.pack("<II", len(dat), len(record))
        dat += record
    assert sword_entries(idx, dat, zdx, zdt) == ["first", "second"]


def test_strongs_entries_keep_headword_and_definition_without_cross_references():
    from benchmarks.corpora_scripts import strongs_text

    entry = (
        '<entryFree n="00002"><orth>Ἀαρών</orth><orth type="writing">*)AARW/N</orth>'
        '<orth rend="bold" type="trans">Aarṓn</orth><pron rend="italic">ah-ar-ohn\'</pron>'
        '<lb/><def><orig>of Hebrew origin (<ref target="StrongsGreek:0175">H0175</ref>);'
        "</orig> Aaron, the {brother} of Moses:--Aaron.</def></entryFree>"
    )
    assert (
        strongs_text(entry) == "Ἀαρών Aarṓn of Hebrew origin ; Aaron, the brother of Moses:--Aaron."
    )


def test_locale_sources_give_their_language_and_own_day_and_month_names():
    from benchmarks.corpora_scripts import locale_time_names

    source = (
        'LC_IDENTIFICATION\nlanguage   "Greek"\nEND LC_IDENTIFICATION\n'
        'LC_TIME\nabday   "<U039A><U03C5><U03C1>";/\n        "<U0394><U03B5><U03C5>"\n'
        'day     "<U039A><U03C5><U03C1><U03B9><U03B1><U03BA><U03AE>"\n'
        'd_fmt   "<U0025><U0064>"\nEND LC_TIME\n'
    )
    assert locale_time_names(source) == ("Greek", ["Κυρ", "Δευ", "Κυριακή"])
    copied = 'language "Austrian German"\nLC_TIME\ncopy "de_DE"\nEND LC_TIME\n'
    assert locale_time_names(copied) == ("Austrian German", [])


def test_docbook_chapter_titles_lose_their_numbers_in_each_language():
    from benchmarks.corpora_scripts import _CHAPTER_NUMBER

    assert _CHAPTER_NUMBER.sub("", "Глава 3. Выбор дистрибутива Debian") == (
        "Выбор дистрибутива Debian"
    )
    assert _CHAPTER_NUMBER.sub("", "Phụ lục A. Đóng gói nâng cao") == "Đóng gói nâng cao"
    assert _CHAPTER_NUMBER.sub("", "付録A 上級パッケージング") == "上級パッケージング"
