"""The corpus suite (issue 30): every real text corpus, which half it is in, and what it needs.

Forty-seven labelled text corpora, each built offline from what a Debian package (or
the running Python) installs. The suite is split into two halves before a round changes
any default, and each round's split is fixed here. A held-out half runs once and is then
spent: it joins dev, and the next round holds out corpora new to the suite.

* Round 1 (Dec 4-5, 2026): **dev** wordnet, fortunes, manpages, kjv, manpages-ja,
  perldiag, pydoc, emoji, wordnet-pos; **held out** (`ROUND1_HELD_OUT`, run once on Dec 5):
  fortunes-ru, manpages-zh, fortunes-zh, foldoc, gcide, iso-codes, fortunes-es,
  fortunes-it-off. The two 2-class corpora (wordnet-pos, fortunes-it-off) were added
  later, one to each half, without looking at the held-out one beyond building and
  measuring it.
* Round 2 (Dec 6): **dev** the seventeen above; **held out** (`ROUND2_HELD_OUT`, run once
  on Dec 6): fortunes-de (German), fortunes-pl (Polish, IRC quotes: noisy), fortunes-bg
  (Bulgarian), manpages-de and manpages-ru (long: 300 words), manpages-ja-dev (2 classes,
  unspaced), edict (Japanese headwords by part of speech: short, unspaced).
* Round 3 (Dec 6, second session): **dev** the twenty-four above; **held out**
  (`ROUND3_HELD_OUT`, run once on Dec 6): fortunes-cs (Czech and Slovak, 34 files),
  fortunes-mario (Brazilian Portuguese: anagrams, palindromes, ASCII art: noisy),
  manpages-fr, manpages-es, manpages-pl (long, Latin) and manpages-uk (long, Ukrainian, 2
  classes).
* Round 4 (Dec 6, evening): **dev** the thirty above; **held out** (`ROUND4_HELD_OUT`,
  spent before round 5): manpages-tr (long, Turkish, 2 classes), manpages-nl (long, Dutch,
  2 classes), manpages-pt-br (long, Brazilian Portuguese, 6 sections), jargon (the Jargon
  File's definitions by part of speech: noisy), dhammapada (its verses by chapter: 391
  rows in 26 classes, few and balanced) and iso-codes-ko (Korean names by ISO standard:
  short, Hangul).
* Round 5 (Dec 7; `ROUND5_HELD_OUT`, run once on Dec 7, 18:21-18:28 UTC, round 4's
  defaults: spent): **dev** the thirty-six above; **held out**
  debian-ref-zh (the Debian Reference in Simplified Chinese, sections by chapter: long,
  unspaced, commands and package tables: noisy), skk-names (Japanese words of SKK's
  dictionaries of place names, personal names, stations, ...: short, unspaced, 9 classes,
  very unequal), kanjidic (kanji with readings and meanings, jōyō or jinmeiyō: 2 classes,
  balanced), perlfaq (the Perl FAQ's questions and answers by part: long, code: noisy),
  vera (acronyms and expansions by field or vendor tag: short, 70 classes) and devil (The
  Devil's Dictionary's definitions by part of speech).
* Round 6 (Dec 7; `half` "held-out" below): **dev** the forty-two above; **held out**
  strongs (Strong's Greek and Hebrew dictionaries by dictionary: 2 classes, Greek and
  Hebrew headwords), locale-names (glibc's day and month names by language: short, 178
  classes, many scripts), faq-ru (the Debian FAQ's answers in Russian by chapter:
  Cyrillic), maint-guide-ja (the New Maintainers' Guide in Japanese by chapter: long,
  unspaced, commands: noisy) and maint-guide-vi (the same guide in Vietnamese).

Each `Corpus` also declares what it covers (length, classes, balance, scripts, unspaced
or noisy text); the tests check those declarations against the measured corpora and the
suite's coverage against issue 30's list.

Example:

    from benchmarks.suite import SUITE, corpus
    rows = corpus("kjv").rows()       # [(verse, book), ...]
    [c.name for c in SUITE if c.half == "held-out"]
"""

from __future__ import annotations

import functools
import importlib
import subprocess
from dataclasses import dataclass

from keras_lstm_opt.errors import UsageError

HALVES = ("dev", "held-out")
ROUND1_HELD_OUT = (
    "fortunes-ru",
    "manpages-zh",
    "fortunes-zh",
    "foldoc",
    "gcide",
    "iso-codes",
    "fortunes-es",
    "fortunes-it-off",
)
ROUND2_HELD_OUT = (
    "fortunes-de",
    "fortunes-pl",
    "fortunes-bg",
    "manpages-de",
    "manpages-ru",
    "manpages-ja-dev",
    "edict",
)
ROUND3_HELD_OUT = (
    "fortunes-cs",
    "fortunes-mario",
    "manpages-fr",
    "manpages-es",
    "manpages-pl",
    "manpages-uk",
)
ROUND4_HELD_OUT = (
    "manpages-tr",
    "manpages-nl",
    "manpages-pt-br",
    "jargon",
    "dhammapada",
    "iso-codes-ko",
)
ROUND5_HELD_OUT = (
    "debian-ref-zh",
    "skk-names",
    "kanjidic",
    "perlfaq",
    "vera",
    "devil",
)


@dataclass(frozen=True)
class Corpus:
    """One corpus of the suite.

    Attributes:
        name: its name on the command line.
        half: "dev" or "held-out".
        builder: "module:function" returning its (text, label) rows.
        packages: the Debian packages it reads (empty: the running Python's files).
        licence: the licence of the text, one line.
        description: one line.
        length: "short" (mean < 10 tokens), "medium" or "long" (mean > 100 tokens).
        classes: its number of classes as measured on Debian bookworm.
        imbalanced: whether its largest class has >= 5 times the smallest's rows.
        scripts: the scripts that make up at least 5% of its characters.
        unspaced: written without spaces between words (lengths count characters).
        noisy: typos, code, markup or escapes in the text.
    """

    name: str
    half: str
    builder: str
    packages: tuple[str, ...]
    licence: str
    description: str
    length: str
    classes: int
    imbalanced: bool
    scripts: tuple[str, ...]
    unspaced: bool = False
    noisy: bool = False

    @property
    def install_line(self) -> str:
        """The command that installs what it needs ("" when nothing)."""
        return f"apt-get install {' '.join(self.packages)}" if self.packages else ""

    def missing(self) -> list[str]:
        """Its Debian packages that are not installed here."""
        found = installed(self.packages)
        return [p for p in self.packages if p not in found]

    def rows(self) -> list[tuple[str, str]]:
        """Its (text, label) rows, built from the installed files (once per process:
        a fresh list each call); the builder's DataError, which names the
        `apt-get install` line, when a package is missing."""
        return list(_build(self.builder))


@functools.cache
def _build(builder: str) -> tuple[tuple[str, str], ...]:
    module, _, function = builder.partition(":")
    return tuple(getattr(importlib.import_module(module), function)())


def installed(packages: tuple[str, ...]) -> dict[str, str]:
    """{package: version} for those of the Debian `packages` installed here (one
    `dpkg-query`; none on a machine without dpkg).

    Example:
        installed(("iso-codes", "no-such-package"))  # {"iso-codes": "4.15.0-1"}
    """
    if not packages:
        return {}
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Status}\n", *packages],
            capture_output=True,
            text=True,
        ).stdout
    except OSError:  # not a Debian system
        return {}
    found = {}
    for line in out.splitlines():
        name, _, rest = line.partition("\t")
        number, _, status = rest.partition("\t")
        if status.endswith(" installed"):
            found[name.split(":")[0]] = number
    return found


_B = "benchmarks."
SUITE: tuple[Corpus, ...] = (
    # --- development half ---
    Corpus(
        "wordnet",
        "dev",
        _B + "corpora:wordnet_rows",
        ("wordnet-base",),
        "WordNet 3.0 licence (free, with its notice)",
        "WordNet noun glosses by lexicographer file",
        "medium",
        26,
        True,
        ("Latin",),
    ),
    Corpus(
        "fortunes",
        "dev",
        _B + "corpora_text:fortune_rows",
        ("fortunes",),
        "BSD; cookie files free to redistribute",
        "English fortune cookies by cookie file",
        "medium",
        40,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages",
        "dev",
        _B + "corpora_text:man_rows",
        ("manpages", "manpages-dev"),
        "Linux man-pages licences (free documentation)",
        "Linux man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "kjv",
        "dev",
        _B + "corpora_bible:kjv_rows",
        ("bible-kjv", "bible-kjv-text"),
        "public domain (text); GPL-2+ (program)",
        "King James Bible verses by book",
        "medium",
        66,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages-ja",
        "dev",
        _B + "corpora_manpages:manpages_ja_rows",
        ("manpages-ja",),
        "the original pages' free licences (JM project)",
        "Japanese man pages (600 characters) by section",
        "long",
        6,
        True,
        ("Han", "Hiragana", "Katakana", "Latin"),
        unspaced=True,
    ),
    Corpus(
        "perldiag",
        "dev",
        _B + "corpora_docs:perldiag_rows",
        ("perl",),
        "GPL-1+ or Artistic",
        "Perl diagnostics (template + explanation) by severity class",
        "medium",
        7,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "pydoc",
        "dev",
        _B + "corpora_docs:pydoc_rows",
        (),
        "PSF licence (the running Python's standard library)",
        "Python stdlib docstrings by top-level module (50 modules)",
        "medium",
        50,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "emoji",
        "dev",
        _B + "corpora_names:emoji_rows",
        ("unicode-cldr-core", "unicode-data"),
        "Unicode licence (Unicode-DFS-2016)",
        "CLDR emoji names + keywords in 7 languages by emoji group",
        "short",
        8,
        False,
        ("Han", "Cyrillic", "Latin"),
    ),
    Corpus(
        "wordnet-pos",
        "dev",
        _B + "corpora:wordnet_pos_rows",
        ("wordnet-base",),
        "WordNet 3.0 licence (free, with its notice)",
        "WordNet noun and verb glosses labelled noun or verb",
        "medium",
        2,
        True,
        ("Latin",),
    ),
    # --- round 1's held-out half (spent on Dec 5, 2026; dev since round 2) ---
    Corpus(
        "fortunes-ru",
        "dev",
        _B + "corpora_fortunes:fortunes_ru_rows",
        ("fortunes-ru",),
        "GPL-2",
        "Russian fortune cookies by topic file",
        "medium",
        68,
        True,
        ("Cyrillic",),
    ),
    Corpus(
        "manpages-zh",
        "dev",
        _B + "corpora_manpages:manpages_zh_rows",
        ("manpages-zh",),
        "GFDL-1.2+ (CMPP translations)",
        "Simplified Chinese man pages (600 characters) by section",
        "long",
        6,
        True,
        ("Han", "Latin"),
        unspaced=True,
    ),
    Corpus(
        "fortunes-zh",
        "dev",
        _B + "corpora_fortunes:fortunes_zh_rows",
        ("fortunes-zh",),
        "GPL-3+",
        "Chinese sayings and Tang/Song poems by file, ANSI escapes kept",
        "long",
        3,
        True,
        ("Han", "Latin"),
        unspaced=True,
        noisy=True,
    ),
    Corpus(
        "foldoc",
        "dev",
        _B + "corpora_dict:foldoc_rows",
        ("dict-foldoc",),
        "GFDL-1.1+",
        "Free On-line Dictionary of Computing entries by subject tag",
        "medium",
        36,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "gcide",
        "dev",
        _B + "corpora_dict:gcide_rows",
        ("dict-gcide",),
        "GPL-2+",
        "GCIDE (Webster 1913) senses by field label (Zool., Bot., ...)",
        "medium",
        57,
        True,
        ("Latin",),
    ),
    Corpus(
        "iso-codes",
        "dev",
        _B + "corpora_names:iso_code_rows",
        ("iso-codes",),
        "LGPL-2.1+",
        "ISO language/country/subdivision/currency/script names by standard",
        "short",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "fortunes-es",
        "dev",
        _B + "corpora_fortunes:fortunes_es_rows",
        ("fortunes-es",),
        "GPL-2+ (sayings presumed public domain)",
        "Spanish fortune cookies by file",
        "medium",
        24,
        True,
        ("Latin",),
    ),
    Corpus(
        "fortunes-it-off",
        "dev",
        _B + "corpora_fortunes:fortunes_it_off_rows",
        ("fortunes-it", "fortunes-it-off"),
        "no copyright claimed (collected quotations; fortune-it COPYING-POLICY)",
        "Italian fortune cookies labelled offensive or inoffensive",
        "medium",
        2,
        True,
        ("Latin",),
    ),
    # --- round 2's held-out half (ROUND2_HELD_OUT), dev since Dec 6 ---
    Corpus(
        "fortunes-de",
        "dev",
        _B + "corpora_fortunes:fortunes_de_rows",
        ("fortunes-de",),
        "GPL-2+",
        "German fortune cookies by file",
        "medium",
        49,
        True,
        ("Latin",),
    ),
    Corpus(
        "fortunes-pl",
        "dev",
        _B + "corpora_fortunes:fortunes_pl_rows",
        ("fortunes-pl",),
        "GPL-2+",
        "Polish fortune cookies by file (IRC and Usenet quotes, typos kept)",
        "medium",
        86,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "fortunes-bg",
        "dev",
        _B + "corpora_fortunes:fortunes_bg_rows",
        ("fortunes-bg",),
        "GPL-2",
        "Bulgarian fortune cookies (proverbs, quotations) by file",
        "medium",
        6,
        True,
        ("Cyrillic",),
    ),
    Corpus(
        "manpages-de",
        "dev",
        _B + "corpora_manpages:manpages_de_rows",
        ("manpages-de",),
        "GPL-3+ (manpages-l10n translations)",
        "German man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages-ru",
        "dev",
        _B + "corpora_manpages:manpages_ru_rows",
        ("manpages-ru", "manpages-ru-dev"),
        "GPL-3+ (manpages-l10n translations)",
        "Russian man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        6,
        True,
        ("Cyrillic", "Latin"),
    ),
    Corpus(
        "manpages-ja-dev",
        "dev",
        _B + "corpora_manpages:manpages_ja_dev_rows",
        ("manpages-ja-dev",),
        "the original pages' free licences (JM project)",
        "Japanese man pages (600 characters): system call or library function",
        "long",
        2,
        False,
        ("Han", "Hiragana", "Katakana", "Latin"),
        unspaced=True,
    ),
    Corpus(
        "edict",
        "dev",
        _B + "corpora_edict:edict_rows",
        ("edict",),
        "CC BY-SA 4.0 (JMdict/EDICT)",
        "Japanese dictionary headwords and readings by part of speech",
        "short",
        5,
        True,
        ("Han", "Hiragana", "Katakana"),
        unspaced=True,
    ),
    # --- round 3's held-out half (ROUND3_HELD_OUT), dev since Dec 6 (evening) ---
    Corpus(
        "fortunes-cs",
        "dev",
        _B + "corpora_fortunes:fortunes_cs_rows",
        ("fortunes-cs",),
        "GPL-2+",
        "Czech and Slovak fortune cookies by file",
        "medium",
        34,
        True,
        ("Latin",),
    ),
    Corpus(
        "fortunes-mario",
        "dev",
        _B + "corpora_fortunes:fortunes_mario_rows",
        ("fortunes-mario",),
        "GPL-2+",
        "Brazilian Portuguese fortune cookies by file (anagrams, ASCII art, jokes)",
        "medium",
        7,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "manpages-fr",
        "dev",
        _B + "corpora_manpages:manpages_fr_rows",
        ("manpages-fr",),
        "GPL-3+ (manpages-l10n translations)",
        "French man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages-es",
        "dev",
        _B + "corpora_manpages:manpages_es_rows",
        ("manpages-es",),
        "GPL-3+ (manpages-l10n translations)",
        "Spanish man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages-pl",
        "dev",
        _B + "corpora_manpages:manpages_pl_rows",
        ("manpages-pl",),
        "GPL-3+ (manpages-l10n translations)",
        "Polish man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        5,
        True,
        ("Latin",),
    ),
    Corpus(
        "manpages-uk",
        "dev",
        _B + "corpora_manpages:manpages_uk_rows",
        ("manpages-uk",),
        "GPL-3+ (manpages-l10n translations)",
        "Ukrainian man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        2,
        False,
        ("Cyrillic", "Latin"),
    ),
    # --- round 4's held-out half (ROUND4_HELD_OUT), dev since Dec 7 ---
    Corpus(
        "manpages-tr",
        "dev",
        _B + "corpora_manpages:manpages_tr_rows",
        ("manpages-tr",),
        "the original pages' licences, GPL for the rest (Turkish Linux Documentation WG)",
        "Turkish man pages (NAME + DESCRIPTION, 300 words), user commands or administration",
        "long",
        2,
        False,
        ("Latin",),  # Greek and Hebrew headwords: under the 5% that names a script
    ),
    Corpus(
        "manpages-nl",
        "dev",
        _B + "corpora_manpages:manpages_nl_rows",
        ("manpages-nl", "manpages-nl-dev"),
        "GPL-3+ (manpages-l10n translations)",
        "Dutch man pages (NAME + DESCRIPTION, 300 words), user commands or system calls",
        "long",
        2,
        False,
        ("Latin",),  # Greek and Hebrew headwords: under the 5% that names a script
    ),
    Corpus(
        "manpages-pt-br",
        "dev",
        _B + "corpora_manpages:manpages_pt_br_rows",
        ("manpages-pt-br", "manpages-pt-br-dev"),
        "GPL-3+ (manpages-l10n translations)",
        "Brazilian Portuguese man pages (NAME + DESCRIPTION, 300 words) by section",
        "long",
        6,
        True,
        ("Latin",),
    ),
    Corpus(
        "jargon",
        "dev",
        _B + "corpora_dict:jargon_rows",
        ("dict-jargon",),
        "public domain (The Jargon File 4.4.7)",
        "Jargon File definitions by part of speech (noun, verb, adjective)",
        "medium",
        3,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "dhammapada",
        "dev",
        _B + "corpora_bible:dhammapada_rows",
        ("display-dhammapada",),
        "public domain (John Richards' translation, 1993)",
        "Dhammapada verses in English by chapter",
        "medium",
        26,
        False,
        ("Latin",),
    ),
    Corpus(
        "iso-codes-ko",
        "dev",
        _B + "corpora_names:iso_codes_ko_rows",
        ("iso-codes",),
        "LGPL-2.1+",
        "Korean ISO language/country/subdivision/currency/script names by standard",
        "short",
        5,
        True,
        ("Hangul",),
    ),
    # --- round 5's held-out half (ROUND5_HELD_OUT), dev since Dec 7 ---
    Corpus(
        "debian-ref-zh",
        "dev",
        _B + "corpora_guides:debian_reference_zh_rows",
        ("debian-reference-zh-cn",),
        "GPL-2+ (Osamu Aoki's Debian Reference and its Chinese translation)",
        "Debian Reference in Simplified Chinese: sections (600 characters) by chapter",
        "long",
        12,
        True,
        ("Han", "Latin"),
        unspaced=True,
        noisy=True,
    ),
    Corpus(
        "skk-names",
        "dev",
        _B + "corpora_edict:skk_name_rows",
        ("skkdic-extra",),
        "GPL-2+ (SKK dictionaries; SKK-JISYO.okinawa public domain)",
        "Japanese words of SKK's dictionaries by dictionary (places, names, stations, ...)",
        "short",
        9,
        True,
        ("Han",),  # Katakana 4.9%: under the 5% that names a script
        unspaced=True,
    ),
    Corpus(
        "kanjidic",
        "dev",
        _B + "corpora_edict:kanjidic_rows",
        ("kanjidic",),
        "CC BY-SA 4.0 (EDRDG licence)",
        "KANJIDIC kanji with readings and English meanings: jōyō or jinmeiyō list",
        "medium",
        2,
        False,
        ("Hiragana", "Katakana", "Latin"),
    ),
    Corpus(
        "perlfaq",
        "dev",
        _B + "corpora_docs:perlfaq_rows",
        ("perl-doc",),
        "GPL-1+ or Artistic (perlfaq)",
        "Perl FAQ questions and answers (300 words, POD and code kept) by FAQ part",
        "long",
        9,
        True,
        ("Latin",),
        noisy=True,
    ),
    Corpus(
        "vera",
        "dev",
        _B + "corpora_dict:vera_rows",
        ("dict-vera",),
        "GFDL-1.1+, no invariant sections (V.E.R.A.)",
        "V.E.R.A. acronyms and expansions by field or vendor tag (IBM, MS, slang, ...)",
        "short",
        70,
        True,
        ("Latin",),
    ),
    Corpus(
        "devil",
        "dev",
        _B + "corpora_dict:devil_rows",
        ("dict-devil",),
        "public domain (Ambrose Bierce, 1911)",
        "The Devil's Dictionary's definitions by part of speech (noun, adjective, verb)",
        "medium",
        3,
        True,
        ("Latin",),
    ),
    # --- round 6's held-out half: fixed before round 6 changed any default ---
    Corpus(
        "strongs",
        "held-out",
        _B + "corpora_scripts:strongs_rows",
        ("sword-dict-strongs-greek", "sword-dict-strongs-hebrew"),
        "public domain (James Strong, 1890; Greek XML by Ulrik Sandborg-Petersen)",
        "Strong's dictionary entries (headword, transliteration, definition): Greek or Hebrew",
        "medium",
        2,
        False,
        ("Latin",),  # Greek and Hebrew headwords: under the 5% that names a script
    ),
    Corpus(
        "locale-names",
        "held-out",
        _B + "corpora_scripts:locale_names_rows",
        ("locales",),
        "public domain or free licences per locale source (glibc)",
        "glibc locales' day and month names by the language their LC_IDENTIFICATION names",
        "short",
        178,
        True,
        ("Cyrillic", "Latin"),
    ),
    Corpus(
        "faq-ru",
        "held-out",
        _B + "corpora_scripts:faq_ru_rows",
        ("debian-faq-ru",),
        "GPL-2+ (The Debian GNU/Linux FAQ and its Russian translation)",
        "Debian FAQ in Russian: answers by chapter",
        "long",
        16,
        False,
        ("Cyrillic", "Latin"),
        noisy=True,
    ),
    Corpus(
        "maint-guide-ja",
        "held-out",
        _B + "corpora_scripts:maint_guide_ja_rows",
        ("maint-guide-ja",),
        "MIT-style (Debian New Maintainers' Guide and its Japanese translation)",
        "Debian New Maintainers' Guide in Japanese: sections (600 characters) by chapter",
        "long",
        10,
        True,
        ("Han", "Hiragana", "Katakana", "Latin"),
        unspaced=True,
        noisy=True,
    ),
    Corpus(
        "maint-guide-vi",
        "held-out",
        _B + "corpora_scripts:maint_guide_vi_rows",
        ("maint-guide-vi",),
        "MIT-style (Debian New Maintainers' Guide and its Vietnamese translation)",
        "Debian New Maintainers' Guide in Vietnamese: sections by chapter",
        "long",
        10,
        True,
        ("Latin",),
        noisy=True,
    ),
)


def corpus(name: str) -> Corpus:
    """The suite's corpus called `name`; a UsageError (exit 2) naming the choices if none.

    Example:
        corpus("edict").half  # "dev"
    """
    for entry in SUITE:
        if entry.name == name:
            return entry
    raise UsageError(
        f"unknown corpus {name!r}; choose from: {', '.join(c.name for c in SUITE)}, co2"
    )
