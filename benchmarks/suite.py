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
suite's coverage against issue 30's list. The entries are in `suite_rounds_1_2` (round
1's two halves, round 2's held-out) and `suite_rounds_3_6` (the held-out halves of rounds 3
to 6); `Corpus` and `installed` in `suite_corpus`.

Example:

    from benchmarks.suite import SUITE, corpus
    rows = corpus("kjv").rows()       # [(verse, book), ...]
    [c.name for c in SUITE if c.half == "held-out"]
"""

from __future__ import annotations

from benchmarks import suite_rounds_1_2, suite_rounds_3_6
from benchmarks.suite_corpus import Corpus, installed
from keras_lstm_opt.errors import UsageError

__all__ = [
    "HALVES",
    "ROUND1_HELD_OUT",
    "ROUND2_HELD_OUT",
    "ROUND3_HELD_OUT",
    "ROUND4_HELD_OUT",
    "ROUND5_HELD_OUT",
    "SUITE",
    "Corpus",
    "corpus",
    "installed",
]

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


SUITE: tuple[Corpus, ...] = (*suite_rounds_1_2.CORPORA, *suite_rounds_3_6.CORPORA)


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
