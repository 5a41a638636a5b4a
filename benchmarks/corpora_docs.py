"""Programming documentation as labelled text: Perl's diagnostics and FAQ, Python's docstrings.

* `perldiag`: every message of Perl's `perldiag.pod` (package `perl-modules-5.xx`, which
  `perl` pulls in; Perl's Artistic licence or GPL-1+), text = the message template and
  its explanation, labelled by its severity class: "warning" (W), "deprecation" (D),
  "severe" (S), "fatal" (F), "panic" (P), "very fatal" (X), "alien" (A). The class tag
  itself, "(W closed)", is cut from the text. About 1,050 rows, 7 very unequal classes;
  printf templates, POD markup (`C<...>`, `L<...>`) and Perl code make it noisy.
* `pydoc`: the docstrings of the functions, methods and classes of the running Python's
  standard library, read from its source files with `ast` (nothing is imported; PSF
  licence), labelled by their top-level module ("asyncio", "email", ...). Private
  modules (`_pydecimal`), tests and `site-packages` are left out, whitespace is
  collapsed, texts under `DOC_MIN_WORDS` words are dropped, a text found under two
  modules is dropped everywhere, and only the `PYDOC_MODULES` modules with the most rows
  (at least `PYDOC_MIN_ROWS` each) are kept. The rows depend on the Python version only.
* `perlfaq` (package `perl-doc`, the Perl FAQ, perlfaq 5.2021, Perl's licence): each
  question of `perlfaq1.pod` to `perlfaq9.pod` (a `=head2` heading) and its answer, up
  to the next heading, labelled by the part of the FAQ it is in, named as its NAME line
  names it ("Data Manipulation", "Regular Expressions", "System Interaction", ...: 9
  classes, 14 to 80 questions). POD markup (`C<...>`, `L<...>`) and the answers' Perl
  code are kept: noisy; texts are cut at `MAN_WORDS` words. Added in the suite's fifth
  round (held-out); it shares Perl's documentation, not its text, with `perldiag`
  (dev).

Example:

    rows = perldiag_rows()   # [("accept() on closed socket %s You tried ...", "warning")]
    rows = perlfaq_rows()    # [("What is Perl? Perl is a high-level ...", "General Questions ...")]
"""

from __future__ import annotations

import ast
import collections
import os
import re
import subprocess
import sysconfig

from benchmarks.corpora_text import (
    MAN_WORDS,
    _package_files,
    package_files_matching,
    unambiguous,
)
from keras_lstm_opt.errors import DataError, MissingPackageError

SEVERITY = {
    "W": "warning",
    "D": "deprecation",
    "S": "severe",
    "F": "fatal",
    "P": "panic",
    "X": "very fatal",
    "A": "alien",
}
_SEVERITY = re.compile(r"^\(([WDSFPXA])(?:[ ,][^)]*)?\)\s*")
DOC_MIN_WORDS = 3
PYDOC_MODULES = 50
PYDOC_MIN_ROWS = 30
_SKIP_DIRS = {"site-packages", "test", "tests", "idle_test", "__pycache__"}
_PERLFAQ = re.compile(r"/pod/perlfaq[1-9]\.pod$")


def _perl_modules_package() -> str:
    """The installed `perl-modules-5.xx` package's name (it holds the .pod files)."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Status}\n", "perl-modules-*"],
            capture_output=True,
            text=True,
        ).stdout
    except OSError:
        out = ""
    names = sorted(line.split()[0] for line in out.splitlines() if line.endswith(" installed"))
    if not names:
        raise MissingPackageError(
            "Debian package 'perl-modules-5.xx' (perldiag.pod) is not installed; "
            "install it with: apt-get install perl",
            name="perl-modules",
        )
    return names[-1]


def perldiag_rows(words: int = MAN_WORDS) -> list[tuple[str, str]]:
    """(message and explanation, severity) for every `=item` of perldiag.pod, in file
    order; items listed together share the explanation that follows them."""
    pods = [p for p in _package_files(_perl_modules_package()) if p.endswith("/perldiag.pod")]
    if not pods:
        raise DataError(
            "perldiag.pod not found in perl-modules; reinstall it with: "
            "apt-get install --reinstall perl"
        )
    with open(pods[0], encoding="utf-8") as fh:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", fh.read())]
    rows: list[tuple[str, str]] = []
    items: list[str] = []  # messages waiting for their explanation
    body: list[str] = []
    severity = ""

    def flush() -> None:
        if items and severity:
            text = " ".join(" ".join(body).split()[:words])
            rows.extend((" ".join(f"{item} {text}".split()), SEVERITY[severity]) for item in items)

    depth = 0
    for para in paragraphs:
        if para.startswith(("=over", "=back")):  # a list inside an explanation is text
            depth += 1 if para.startswith("=over") else -1
            continue
        if depth > 1 and items:
            body.append(re.sub(r"^=item\s*", "", para))
            continue
        if para.startswith("=item "):
            if body:  # a new message after an explanation: the previous group is done
                flush()
                items, body, severity = [], [], ""
            items.append(para[len("=item ") :].strip())
        elif para.startswith("="):  # =head, =cut: the end of a group
            flush()
            items, body, severity = [], [], ""
        elif items:
            match = _SEVERITY.match(para) if not body else None
            if match:
                severity, para = match.group(1), para[match.end() :]
            body.append(para)
    flush()
    return rows


def _docstrings(path: str) -> list[str]:
    """The docstrings of a source file's functions, methods and classes, in walk order."""
    with open(path, encoding="utf-8") as fh:
        try:
            tree = ast.parse(fh.read(), filename=path)
        except (SyntaxError, ValueError):  # a file meant for another version (lib2to3 data)
            return []
    docs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node)
            if doc and len(doc.split()) >= DOC_MIN_WORDS:
                docs.append(" ".join(doc.split()))
    return docs


def pydoc_rows(
    root: str | None = None, words: int = MAN_WORDS, modules: int = PYDOC_MODULES
) -> list[tuple[str, str]]:
    """(docstring, top-level module) for the standard library under `root` (default:
    the running Python's), in path order, for the `modules` modules with most rows."""
    root = root or sysconfig.get_paths()["stdlib"]
    if not os.path.isfile(os.path.join(root, "os.py")):
        raise DataError(
            f"{root}: not a Python standard library (no os.py); pydoc reads "
            "the running Python's sources (a python3 without its .py files? "
            "apt-get install libpython3-stdlib)"
        )
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("config-")
        )
        for name in sorted(filenames):
            top = parts[0] if parts else name[:-3]
            if name.endswith(".py") and not top.startswith("_"):
                found += [
                    (" ".join(doc.split()[:words]), top)
                    for doc in _docstrings(os.path.join(dirpath, name))
                ]
    labels_of: dict[str, set[str]] = collections.defaultdict(set)
    for text, label in found:
        labels_of[text].add(label)
    seen: set[str] = set()
    rows = []
    for text, label in found:  # a docstring under two modules says nothing of either
        if len(labels_of[text]) == 1 and text not in seen:
            seen.add(text)
            rows.append((text, label))
    counts = collections.Counter(label for _, label in rows)
    keep = {
        label
        for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:modules]
        if n >= PYDOC_MIN_ROWS
    }
    return [row for row in rows if row[1] in keep]


def perlfaq_part(pod: str, words: int = MAN_WORDS) -> list[tuple[str, str]]:
    """(question and answer, part's name) for each `=head2` question of one perlfaqN.pod,
    from its DESCRIPTION to the next `=head1` but one (AUTHOR AND COPYRIGHT).

    Example:
        perlfaq_part("=head1 NAME\n\nperlfaq1 - General\n\n=head2 Why?\n\nBecause.\n")
        # [("Why? Because.", "General")]
    """
    name = re.search(r"^=head1 NAME\s+\S+\s+-\s+(.+?)\s*$", pod, flags=re.MULTILINE)
    if not name:
        return []
    rows: list[tuple[str, str]] = []
    question = ""
    body: list[str] = []
    for para in re.split(r"\n\s*\n", pod):
        if para.startswith("=head") or para.startswith("=cut"):
            if question:
                text = " ".join(f"{question} {' '.join(body)}".split()[:words])
                rows.append((text, name.group(1)))
            question, body = "", []
            if para.startswith("=head2 "):
                question = para[len("=head2 ") :].strip()
        elif question and not para.startswith(("=over", "=back", "=for", "=begin", "=end")):
            body.append(re.sub(r"^=item\s*", "", para))
    if question:
        rows.append((" ".join(f"{question} {' '.join(body)}".split()[:words]), name.group(1)))
    return rows


def perlfaq_rows(words: int = MAN_WORDS) -> list[tuple[str, str]]:
    """(question and answer, FAQ part) for every question of perlfaq1 to perlfaq9, part
    by part (see the module's docstring)."""
    pods = package_files_matching("perl-doc", _PERLFAQ, "perlfaq1.pod..perlfaq9.pod")
    rows = []
    for path in pods:
        with open(path, encoding="utf-8") as fh:
            rows += perlfaq_part(fh.read(), words)
    return unambiguous(rows)  # as every builder: a text under two labels, or twice, goes
