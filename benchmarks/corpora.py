"""Real data sets available offline, written as the CSV files a user would bring.

The text corpora are the real-text suite (`suite.SUITE`: 42 corpora in round 5, a
development half and a held-out half, each built from what a Debian package installs);
`--list` shows them with their packages, `--stats` measures them (`corpora_stats`).

* `wordnet`: WordNet 3.0's noun glosses (Debian package `wordnet-base`, Princeton's
  WordNet licence: free to use and redistribute with its notice) labelled by their
  lexicographer file, 26 string classes such as "noun.animal" or "noun.artifact";
  82,115 rows, median 10 words. Columns `text,label`.
* `wordnet-pos`: the same noun glosses and WordNet's 13,767 verb glosses, labelled
  "noun" or "verb" (2 imbalanced classes); a gloss under both labels is dropped.
* `fortunes`, `manpages`: see `corpora_text` (quotations in about 40 topics; man pages
  in 5 sections, long texts); the other text corpora: see `suite` and the modules it
  names (`corpora_bible`, `corpora_manpages`, `corpora_docs`, `corpora_names`,
  `corpora_fortunes`, `corpora_dict`, `corpora_edict`, `corpora_guides`).
* `co2`: the Mauna Loa atmospheric CO2 record shipped with statsmodels (NOAA, public
  domain), weekly 1958-2001, as monthly means with gaps interpolated: 526 rows with a
  trend and a yearly season. Columns `date,co2` (ppm).

Example:

    python benchmarks/corpora.py wordnet --out wordnet.csv --rows 20000
    python benchmarks/corpora.py co2 --out co2.csv
    python -m benchmarks.corpora --list
    python -m benchmarks.corpora --stats kjv emoji     # or: --stats all
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys

if __package__ in (None, ""):  # run as a script from a clone: the clone's root is the import root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_lstm_opt.errors import KloError, MissingPackageError, UsageError
from keras_lstm_opt.extras import need

WORDNET_DIR = "/usr/share/wordnet"
# WordNet's lexicographer files 03..28 (lexnames(5WN)): the noun categories.
NOUN_FILES = (
    "Tops",
    "act",
    "animal",
    "artifact",
    "attribute",
    "body",
    "cognition",
    "communication",
    "event",
    "feeling",
    "food",
    "group",
    "location",
    "motive",
    "object",
    "person",
    "phenomenon",
    "plant",
    "possession",
    "process",
    "quantity",
    "relation",
    "shape",
    "state",
    "substance",
    "time",
)


def wordnet_glosses(pos: str = "noun", directory: str = WORDNET_DIR) -> list[tuple[str, int]]:
    """(gloss, lexicographer file number) for every synset of WordNet's `data.<pos>`
    ("noun", "verb", "adj", "adv"), in file order.

    Example:
        wordnet_glosses("verb")[0]  # ('draw air into, and expel out of, the lungs; ...', 29)
    """
    path = os.path.join(directory, f"data.{pos}")
    if not os.path.exists(path):
        raise MissingPackageError(
            f"{path}: not found; install WordNet with: apt-get install wordnet-base "
            "(Debian/Ubuntu)",
            name="wordnet-base",
        )
    glosses = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  "):  # the licence header
                continue
            head, sep, gloss = line.partition(" | ")
            fields = head.split()
            if not sep or len(fields) < 2:
                continue
            glosses.append((gloss.strip(), int(fields[1])))
    return glosses


def wordnet_rows(directory: str = WORDNET_DIR) -> list[tuple[str, str]]:
    """(gloss, "noun.<category>") for every noun synset, in file order."""
    return [
        (gloss, f"noun.{NOUN_FILES[lexfile - 3]}")
        for gloss, lexfile in wordnet_glosses("noun", directory)
    ]


def wordnet_pos_rows(directory: str = WORDNET_DIR) -> list[tuple[str, str]]:
    """(gloss, "noun" or "verb") for every noun synset then every verb synset of
    WordNet, in file order; a gloss found under both labels (the same words define a
    noun and a verb synset) is dropped, since it says nothing of either.

    Example:
        wordnet_pos_rows()[-1]  # (a verb's gloss, 'verb')
    """
    found = [
        (gloss, pos) for pos in ("noun", "verb") for gloss, _ in wordnet_glosses(pos, directory)
    ]
    labels_of: dict[str, set[str]] = {}
    for gloss, pos in found:
        labels_of.setdefault(gloss, set()).add(pos)
    return [(gloss, pos) for gloss, pos in found if len(labels_of[gloss]) == 1]


def write_wordnet(out: str, rows: int | None = None, seed: int = 0) -> int:
    """Write WordNet's noun glosses as CSV (`text,label`), shuffled; return the rows."""
    return write_text_rows(wordnet_rows(), out, rows, seed)


def write_text_rows(
    data: list[tuple[str, str]], out: str, rows: int | None = None, seed: int = 0
) -> int:
    """Write (text, label) rows as CSV (`text,label`), shuffled; return the rows."""
    random.Random(seed).shuffle(data)
    data = data[:rows] if rows else data
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(data)
    return len(data)


def write_co2(out: str) -> int:
    """Write statsmodels' CO2 record as monthly means (`date,co2`); return the rows."""
    co2 = need("statsmodels.datasets.co2", "the CO2 record (it ships with statsmodels)", "examples")
    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate()
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "co2"])
        for stamp, value in monthly.items():
            writer.writerow([stamp.strftime("%Y-%m-%d"), f"{value:.4f}"])
    return len(monthly)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="corpora.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="the data set to write (a corpus of --list, or co2); with --stats, "
        "the corpora to measure, or `all`",
    )
    p.add_argument("--out", help="CSV file to write")
    p.add_argument("--rows", type=int, default=None, help="text: keep this many rows")
    p.add_argument("--seed", type=int, default=0, help="text: shuffle seed")
    p.add_argument(
        "--list",
        action="store_true",
        help="list the suite's corpora: half, packages, whether installed",
    )
    p.add_argument(
        "--stats",
        action="store_true",
        help="measure the named corpora: rows, classes, lengths, scripts",
    )
    p.add_argument("--markdown", action="store_true", help="--list/--stats: a Markdown table")
    args = p.parse_args(argv)
    try:
        if args.list:
            print(list_table(args.markdown))
            return 0
        if args.stats:
            return _stats(args.names, args.markdown)
        return _write(args)
    except KloError as exc:  # a missing package or data set: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def list_table(markdown: bool = False) -> str:
    """The suite as a table: name, half, packages, installed or not, description."""
    from benchmarks.suite import SUITE

    rows = [
        (
            c.name,
            c.half,
            " ".join(c.packages) or "(python stdlib)",
            "no: " + c.install_line if c.missing() else "yes",
            c.description,
        )
        for c in SUITE
    ]
    head = ("corpus", "half", "packages", "installed", "description")
    if markdown:
        return "\n".join(
            ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(row) + " |" for row in rows]
        )
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in [head] + rows
    )


def _stats(names: list[str], markdown: bool) -> int:
    from benchmarks.corpora_stats import corpus_stats, markdown_table, text_table
    from benchmarks.suite import SUITE, corpus

    if not names:
        raise UsageError("--stats: name the corpora to measure, or `all`")
    chosen = list(SUITE) if names == ["all"] else [corpus(name) for name in names]
    measured, failed = [], 0
    for entry in chosen:
        try:
            measured.append(corpus_stats(entry.name, entry.rows(), entry.unspaced))
        except KloError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed = 1
    if measured:
        print(
            markdown_table(measured, {c.name: c.half for c in chosen})
            if markdown
            else text_table(measured)
        )
    return failed


def write_corpus(name: str, out: str, rows: int | None = None, seed: int = 0) -> int:
    """Write the suite's corpus `name` as CSV (`text,label`), shuffled with `seed`, the
    first `rows` rows if given; return the rows written.

    Example:
        write_corpus("kjv", "kjv.csv", rows=5000)
    """
    from benchmarks.suite import corpus

    return write_text_rows(corpus(name).rows(), out, rows, seed)


def _write(args: argparse.Namespace) -> int:
    if len(args.names) != 1:
        raise UsageError("name one data set to write (see --list), or use --list/--stats")
    if not args.out:
        raise UsageError("--out: required to write a data set")
    if args.rows is not None and args.rows < 1:
        raise UsageError(f"--rows: must be >= 1, got {args.rows}")
    name = args.names[0]
    if name == "co2":
        n = write_co2(args.out)
    else:
        n = write_corpus(name, args.out, args.rows, args.seed)
    print(f"wrote {n} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
