"""One corpus of the suite (`Corpus`): its registry entry, how its rows are built, what it needs.

A `Corpus` names the builder of its (text, label) rows ("module:function", imported on
first use and built once per process), the Debian packages it reads (`installed` asks
dpkg which of them are here) and what it covers, as the tests measure it. The entries
themselves are in `suite_rounds_1_2` and `suite_rounds_3_6`; `suite` joins them into
`SUITE`.

Example:

    from benchmarks.suite_corpus import installed
    installed(("iso-codes",))  # {"iso-codes": "4.15.0-1"} where it is installed
"""

from __future__ import annotations

import functools
import importlib
import subprocess
from dataclasses import dataclass

__all__ = ["Corpus", "installed"]


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
        a fresh list each call); the builder's MissingPackageError (exit 2), which names
        the `apt-get install` line, when a package is missing."""
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
