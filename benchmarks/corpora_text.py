"""More real text corpora available offline (Debian packages), as (text, label) rows.

* `fortunes`: the `fortunes` package's cookie files (BSD fortune data, free to
  redistribute), each quotation labelled by its file: about 15,000 rows in about 40
  classes ("computers", "politics", "science", ...), median about 20 words; the
  offensive directory is left out.
* `manpages`: the Linux man-pages project's pages (packages `manpages` and
  `manpages-dev`, free documentation licences), each labelled by its section ("2 system
  calls", "3 library functions", "4 special files", "5 file formats", "7 overviews"):
  about 2,400 pages that are not mere links, a few classes, long texts (the NAME and
  DESCRIPTION sections, troff markup stripped, at most `MAN_WORDS` words).

Only the files these packages install are read (`dpkg -L`), so the corpus is the same on
every machine that installs them.

Example:

    rows = fortune_rows()             # [(text, "computers"), ...]
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from collections.abc import Iterator

from keras_lstm_opt.errors import DataError, MissingPackageError

FORTUNES_DIR = "/usr/share/games/fortunes"
MAN_WORDS = 300
SECTIONS = {
    "2": "2 system calls",
    "3": "3 library functions",
    "4": "4 special files",
    "5": "5 file formats",
    "7": "7 overviews",
}


def _package_files(*packages: str) -> list[str]:
    """The regular files Debian packages installed (`dpkg -L`), or a MissingPackageError
    saying what to install (exit 2, as a missing pip extra)."""
    files = []
    for package in packages:
        try:
            out = subprocess.run(
                ["dpkg", "-L", package], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            raise MissingPackageError(
                f"Debian package {package!r} is not installed; install it with: "
                f"apt-get install {' '.join(packages)}",
                name=package,
            ) from None
        files += [p for p in out.splitlines() if os.path.isfile(p) and not os.path.islink(p)]
    return sorted(files)


def package_files_matching(package: str, pattern: re.Pattern[str], wanted: str) -> list[str]:
    """The files of `package` whose paths match `pattern`, sorted, or a DataError saying
    that it installs no `wanted` and how to reinstall it."""
    found = [p for p in _package_files(package) if pattern.search(p)]
    if not found:
        raise DataError(
            f"{package} installs no {wanted}; reinstall it with: "
            f"apt-get install --reinstall {package}"
        )
    return found


def fortune_rows() -> list[tuple[str, str]]:
    """(quotation, file name) for every cookie of the `fortunes` package, in file order."""
    rows = []
    for path in _package_files("fortunes"):
        name = os.path.basename(path)
        if os.path.dirname(path) != FORTUNES_DIR or "." in name:  # .dat/.u8 indexes
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for cookie in re.split(r"^%\s*$", fh.read(), flags=re.MULTILINE):
                text = " ".join(cookie.split())
                if text:
                    rows.append((text, name))
    return rows


_ESCAPES = re.compile(
    r"\\f(\[[^\]]*\]|\(..|.)|\\\*(\[[^\]]*\]|\(..|.)|\\\(..|\\\[[^\]]*\]|"
    r"\\[&|^%:ce]"
)


def man_text(source: str, words: int = MAN_WORDS) -> str:
    """The NAME and DESCRIPTION sections of a troff man page as plain words."""
    keep, out = False, []
    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith(".SH"):
            heading = line[3:].strip().strip('"').upper()
            keep = heading in ("NAME", "DESCRIPTION")
            continue
        if not keep:
            continue
        if line.startswith((".", "'")):  # a request: keep its words (.B name, .BR a (2))
            line = line[1:].split(None, 1)[1] if len(line[1:].split(None, 1)) > 1 else ""
        line = _ESCAPES.sub("", line).replace("\\-", "-").replace("\\e", "\\").replace('"', "")
        out += line.split()
        if len(out) >= words:
            break
    return " ".join(out[:words])


def man_pages(paths: list[str], pattern: str) -> Iterator[tuple[re.Match[str], str]]:
    """(match, troff source) for each gzipped page among `paths` whose path matches
    `pattern` and that is not a link to another page (`.so`), in path order."""
    for path in paths:
        match = re.search(pattern, path)
        if not match:
            continue
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            source = fh.read()
        if not source.lstrip().startswith(".so "):
            yield match, source


def unambiguous(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`found` without texts seen under two labels and without repeated texts (the first
    kept), in order."""
    labels_of: dict[str, set[str]] = {}
    for text, label in found:
        labels_of.setdefault(text, set()).add(label)
    seen: set[str] = set()
    rows = []
    for text, label in found:
        if len(labels_of[text]) == 1 and text not in seen:
            seen.add(text)
            rows.append((text, label))
    return rows


def man_rows(words: int = MAN_WORDS) -> list[tuple[str, str]]:
    """(page text, section) for every man-pages page of sections 2, 3, 4, 5 and 7 that
    is not a link to another page (`.so`), in path order."""
    rows = []
    for match, source in man_pages(
        _package_files("manpages", "manpages-dev"), r"/man([23457])/[^/]+\.\d\w*\.gz$"
    ):
        text = man_text(source, words)
        if len(text.split()) >= 5:
            rows.append((text, SECTIONS[match.group(1)]))
    return rows
