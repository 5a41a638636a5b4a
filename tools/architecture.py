"""The package tree of docs/architecture.md, made from the source tree itself.

    python tools/architecture.py            # print it
    python tools/architecture.py --write    # put it into docs/architecture.md
    python tools/architecture.py --check    # exit 1 when docs/architecture.md is stale

Every package (a folder with an `__init__.py`) and module of keras_lstm_opt/, one line each,
with the first line of its docstring (read with `ast`: nothing is imported, TensorFlow does not
load), the C++ kernels with their first comment line, folders of data files with their files'
names, then the repository's top-level folders. tests/unit/test_docs.py checks that the page holds
exactly what this prints.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "keras_lstm_opt"
PAGE = REPO / "docs" / "architecture.md"
BEGIN = "<!-- tree: begin (python tools/architecture.py --write) -->"
END = "<!-- tree: end -->"
COLUMN = 30  # where the descriptions start
TOP_LEVEL = {
    "benchmarks": "`python benchmarks/bench.py --mode ...`, `python -m benchmarks.corpora NAME`"
    " (in a clone, not in the wheel)",
    "configs": "",
    "docs": "this manual: user guide, reference, architecture, measurements, testing",
    "tests": "the pytest suite (`python -m pytest -q`; docs/testing.md)",
    "tools": "scripts run from a clone: ",
}


def first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def docstring(path: Path) -> str:
    return first_line(ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))))


def comment(path: Path) -> str:
    """The first line of a C++ file's leading `//` comment."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("//") and line.strip("/ "):
            return line.strip("/ ")
    return ""


def row(indent: int, name: str, text: str) -> str:
    head = "  " * indent + name
    if not text:
        return head
    return f"{head.ljust(COLUMN - 1)} {text}" if len(head) < COLUMN - 1 else f"{head}  {text}"


def is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file()


def package_rows(folder: Path, indent: int) -> list[str]:
    """A package's own line, then its modules and sub-folders in name order."""
    text = docstring(folder / "__init__.py")
    rows = [row(indent, folder.name + "/", text)]
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith((".", "__pycache__")) or entry.name == "__init__.py":
            continue
        if entry.is_dir():
            if is_package(entry):
                rows += package_rows(entry, indent + 1)
            else:
                files = sorted(p.name for p in entry.iterdir() if p.is_file())
                if files:
                    rows.append(row(indent + 1, entry.name + "/", "data: " + ", ".join(files)))
        elif entry.suffix == ".py":
            rows.append(row(indent + 1, entry.name, docstring(entry)))
        elif entry.suffix in (".cc", ".h"):
            rows.append(row(indent + 1, entry.name, comment(entry)))
    return rows


def top_level_rows(repo: Path) -> list[str]:
    rows = []
    for name, text in TOP_LEVEL.items():
        folder = repo / name
        if not folder.exists():
            continue
        if folder.is_symlink():
            text += f"a link to {folder.readlink()}"
        elif name == "tools":
            text += ", ".join(sorted(p.name for p in folder.glob("*.py")))
        rows.append(row(0, name + "/", text))
    return rows


def render(repo: Path = REPO) -> str:
    """The tree, as this script prints it."""
    return "\n".join(package_rows(repo / PACKAGE, 0) + top_level_rows(repo)) + "\n"


def block(tree: str) -> str:
    return f"{BEGIN}\n```text\n{tree}```\n{END}"


def page_tree(page: str) -> str | None:
    """The tree held by the page between the markers, or None without them."""
    if BEGIN not in page or END not in page:
        return None
    inner = page.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
    if not (inner.startswith("```text\n") and inner.endswith("\n```")):
        return None
    return inner[len("```text\n") : -len("```")]


def with_tree(page: str, tree: str) -> str:
    head, rest = page.split(BEGIN, 1)
    return head + block(tree) + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"update {PAGE.relative_to(REPO)}")
    action.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    tree = render()
    if not (args.write or args.check):
        sys.stdout.write(tree)
        return 0
    page = PAGE.read_text(encoding="utf-8")
    if page_tree(page) is None:
        print(f"{PAGE}: no tree between {BEGIN} and {END}", file=sys.stderr)
        return 1
    if page_tree(page) == tree:
        return 0
    if args.check:
        print(f"{PAGE} is stale: run python tools/architecture.py --write", file=sys.stderr)
        return 1
    PAGE.write_text(with_tree(page, tree), encoding="utf-8")
    print(f"wrote the tree into {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
