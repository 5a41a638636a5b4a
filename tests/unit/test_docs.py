"""The documentation's pages themselves (issue 31): a short README, links that lead somewhere,
an index of every page, and an architecture page made from the source tree. Their examples
run in tests/integration/test_readme.py."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
PACKAGE = REPO / "keras_lstm_opt"
README_MAX_LINES = 250
FENCE = re.compile(r"^```.*?^```[ \t]*$", flags=re.M | re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def architecture_tool() -> ModuleType:
    """tools/architecture.py, loaded from its file (tools/ is not a package)."""
    path = REPO / "tools" / "architecture.py"
    spec = importlib.util.spec_from_file_location("architecture", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("architecture", module)
    spec.loader.exec_module(module)
    return module


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file (a repeated heading gets -1, -2, ...)."""
    found: set[str] = set()
    times: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            base = slug(heading.group(1))
            found.add(f"{base}-{times[base]}" if base in times else base)
            times[base] = times.get(base, 0) + 1
    return found


def test_the_readme_is_the_way_in_not_the_manual() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move text to docs/"


def test_every_relative_link_and_anchor_leads_somewhere() -> None:
    broken = []
    for path in documents():
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            where = f"{path.relative_to(REPO)}: ({target})"
            if not linked.exists():
                broken.append(f"{where}: no {file}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{where}: no heading #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_index_and_the_readme_link_every_page() -> None:
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert {"user-guide.md", "reference.md", "architecture.md", "measurements.md"} <= pages
    index = set(LINK.findall((DOCS / "index.md").read_text(encoding="utf-8")))
    readme = set(LINK.findall(README.read_text(encoding="utf-8")))
    for page in sorted(pages):
        assert any(t.split("#")[0] == page for t in index), f"docs/index.md: link {page}"
        assert any(t.split("#")[0] == f"docs/{page}" for t in readme), f"README.md: link {page}"


def test_the_architecture_tree_is_the_one_the_source_tree_makes() -> None:
    tool = architecture_tool()
    page = tool.PAGE.read_text(encoding="utf-8")
    held = tool.page_tree(page)
    assert held is not None, f"{tool.PAGE}: no tree between {tool.BEGIN} and {tool.END}"
    assert held == tool.render(), (
        "docs/architecture.md's package tree is stale: run python tools/architecture.py --write"
    )


def tree_folders(tree: str) -> set[str]:
    """The folders a tree block names, as paths (`keras_lstm_opt/launch/manifests`), from
    its indentation (two spaces a level)."""
    folders, stack = set(), []
    for line in tree.splitlines():
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0] if line.strip() else ""
        del stack[depth:]
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
            folders.add("/".join(stack))
    return folders


def test_every_package_is_on_the_architecture_page() -> None:
    tool = architecture_tool()
    held = tool.page_tree(tool.PAGE.read_text(encoding="utf-8")) or ""
    packages = {
        init.parent.relative_to(REPO).as_posix()
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted(packages - tree_folders(held))
    assert not missing, (
        f"packages missing from docs/architecture.md: {', '.join(missing)}; "
        "run python tools/architecture.py --write"
    )
    assert {"benchmarks", "configs", "tools", "tests", "docs"} <= tree_folders(held)


def test_anchors_are_githubs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Your own Keras model: `klo.Trainer`\n```bash\n# not a heading\n```\n"
        "## FastLSTM\n### FastLSTM\n",
        encoding="utf-8",
    )
    assert anchors(page) == {"your-own-keras-model-klotrainer", "fastlstm", "fastlstm-1"}


def test_the_tree_parser_reads_nesting() -> None:
    tree = "pkg/  a\n  sub/  b\n    deep/\n  mod.py  c\ntop/  d\n"
    assert tree_folders(tree) == {"pkg", "pkg/sub", "pkg/sub/deep", "top"}
