"""What a labelled text corpus looks like in numbers: sizes, class balance, lengths, scripts.

`corpus_stats` measures one corpus's (text, label) rows: rows, classes, the largest class
over the smallest, mean and median length in whitespace words and in characters (spaces
not counted), and the share of its non-space characters in each of `SCRIPTS` (Han,
Hiragana, Katakana, Hangul, Cyrillic, Latin). `length_tokens` is the length that decides
"short" (mean < 10) and "long" (mean > 100): words, or characters where a corpus is
written without spaces (`unspaced`), one character standing for one token as a character
tokenizer sees it.

Example:

    stats = corpus_stats("kjv", kjv_rows())
    print(markdown_table([stats]))
"""

from __future__ import annotations

import collections
import re
import statistics
from dataclasses import dataclass, field

SCRIPTS = {
    "Han": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+"),
    "Hiragana": re.compile("[\u3040-\u309f]+"),
    "Katakana": re.compile("[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"),
    "Hangul": re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff\uffa0-\uffdc]+"),
    "Cyrillic": re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]+"),
    "Latin": re.compile(
        "[A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
        "\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uff21-\uff3a\uff41-\uff5a]+"
    ),
}
SHORT_TOKENS = 10
LONG_TOKENS = 100
IMBALANCED_RATIO = 5.0
_SPACE = re.compile(r"\s+")


@dataclass
class CorpusStats:
    """The measures of one corpus (see the module's docstring)."""

    name: str
    rows: int
    classes: int
    ratio: float  # largest class / smallest class
    mean_words: float
    median_words: float
    mean_chars: float
    median_chars: float
    shares: dict[str, float] = field(default_factory=dict)  # script: share of characters
    unspaced: bool = False

    @property
    def length_tokens(self) -> float:
        """Mean length in tokens: characters for unspaced text, words otherwise."""
        return self.mean_chars if self.unspaced else self.mean_words

    @property
    def length(self) -> str:
        """ "short" (mean < 10 tokens), "long" (> 100) or "medium"."""
        if self.length_tokens < SHORT_TOKENS:
            return "short"
        return "long" if self.length_tokens > LONG_TOKENS else "medium"

    @property
    def imbalanced(self) -> bool:
        """Whether the largest class has at least 5 times the smallest's rows."""
        return self.ratio >= IMBALANCED_RATIO


def corpus_stats(name: str, rows: list[tuple[str, str]], unspaced: bool = False) -> CorpusStats:
    """Measure `rows` ((text, label) pairs) of the corpus `name`.

    Args:
        name: the corpus's name, carried into the result.
        rows: its (text, label) rows; at least one.
        unspaced: whether its text is written without spaces (lengths in characters).

    Example:
        corpus_stats("tiny", [("a b", "x"), ("c", "y")]).ratio  # 1.0
    """
    counts = collections.Counter(label for _, label in rows)
    words = [len(text.split()) for text, _ in rows]
    chars = [len(_SPACE.sub("", text)) for text, _ in rows]
    blob = _SPACE.sub("", "".join(text for text, _ in rows))
    total = max(len(blob), 1)
    shares = {
        script: sum(map(len, pattern.findall(blob))) / total  # runs, not characters
        for script, pattern in SCRIPTS.items()
    }
    return CorpusStats(
        name=name,
        rows=len(rows),
        classes=len(counts),
        ratio=max(counts.values()) / min(counts.values()),
        mean_words=statistics.fmean(words),
        median_words=statistics.median(words),
        mean_chars=statistics.fmean(chars),
        median_chars=statistics.median(chars),
        shares=shares,
        unspaced=unspaced,
    )


def _scripts(stats: CorpusStats) -> str:
    parts = [f"{script} {share:.0%}" for script, share in stats.shares.items() if share >= 0.005]
    return ", ".join(parts) or "-"


def text_table(stats: list[CorpusStats]) -> str:
    """A plain table, one line per corpus, for a terminal."""
    head = (
        f"{'corpus':<12} {'rows':>7} {'classes':>7} {'max/min':>8} {'words':>13} "
        f"{'chars':>13}  scripts"
    )
    lines = [head, f"{'':<12} {'':>7} {'':>7} {'':>8} {'mean/median':>13} {'mean/median':>13}"]
    for s in stats:
        lines.append(
            f"{s.name:<12} {s.rows:>7} {s.classes:>7} {s.ratio:>8.1f} "
            f"{s.mean_words:>7.1f}/{s.median_words:<5g} "
            f"{s.mean_chars:>7.1f}/{s.median_chars:<5g}  {_scripts(s)}"
        )
    return "\n".join(lines)


def markdown_table(stats: list[CorpusStats], halves: dict[str, str] | None = None) -> str:
    """The same measures as a Markdown table; `halves` adds a column {name: half}."""
    halves = halves or {}
    head = (
        ["corpus"]
        + (["half"] if halves else [])
        + [
            "rows",
            "classes",
            "largest/smallest",
            "mean / median words",
            "mean / median chars",
            "length",
            "scripts (share of characters)",
        ]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in stats:
        cells = (
            [s.name]
            + ([halves.get(s.name, "")] if halves else [])
            + [
                f"{s.rows:,}",
                str(s.classes),
                f"{s.ratio:.1f}",
                f"{s.mean_words:.1f} / {s.median_words:g}",
                f"{s.mean_chars:.1f} / {s.median_chars:g}",
                s.length + (" (chars)" if s.unspaced else ""),
                _scripts(s),
            ]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
