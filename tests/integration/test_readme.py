"""The documentation's examples, run as tests (issue 14, item 9; issue 31: README.md and every
page of docs/), with Sybil.

Sybil (https://sybil.readthedocs.io) parses README.md and each docs/*.md: their ```python and
```bash fences and their `<!-- skip: next "reason" -->` directives. Each example is one test,
named by its document and line (`test_doc_example[docs/user-guide.md:9]`), run in document
order:

* every example of a document runs in that document's own empty temporary working directory,
  so relative paths (`runs/a`, `mydata`) behave as they would for a user who pip-installed the
  package, and a fence that needs an earlier fence's files must follow it in the same document;
* a ```bash fence runs in a fresh `bash -e -o pipefail` (with this interpreter's bin directory
  first on PATH, so `keras-lstm-opt` is the one under test); a non-zero exit fails the test
  with the failing command, the whole fence and the tail of its output;
* a ```python fence runs in a fresh namespace of its own (`run_python`), so each imports what
  it uses, as a user who copies that one fence would need (issue 29: the `klo.fit` fence used
  `klo` unimported and passed, in a namespace shared with the fences before it); files an
  earlier example of the document wrote are still there, as in a user's directory; an
  exception fails the test; `test_each_python_fence_defines_or_imports_every_name_it_uses`
  checks the same without running anything, fast;
* a skip directive skips the next example, with its reason (`pytest -rs` lists them); a copy
  of a fence that runs in another document says so (`runs in docs/user-guide.md`), and
  `test_a_copied_fence_is_the_fence_that_runs` checks that it is still the same text there.

Nothing here shrinks the work: the sizes are the `--set` overrides written in the documents.
The fast checks alone: `python -m pytest -q tests/integration/test_readme.py -k "not example"`.
"""

from __future__ import annotations

import builtins
import os
import re
import signal
import subprocess
import symtable
import sys
import time
import unittest
from collections.abc import Callable
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.evaluators.python import pad
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from ..conftest import time_limit

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
BASH_TIMEOUT_S = 600  # one fence; the slowest (a 2-worker launch) takes about 40 s
OUTPUT_TAIL_LINES = 60
# The README's runnable fences when it was the whole manual (issue 31): the split into docs/
# moved them, and none may be lost.
RUNNABLE_FENCES_BEFORE_THE_SPLIT = 22
COPY = re.compile(r"runs in ((?:docs/)?[\w.-]+\.md)")


def documents() -> list[Path]:
    """README.md, then every page of docs/, in name order."""
    return [README, *sorted(DOCS.glob("*.md"))]


def document_name(path: str | Path) -> str:
    """`README.md`, `docs/user-guide.md`: a document as the repository names it."""
    path = Path(path).resolve()
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def run_bash(example) -> None:  # noqa: ANN001  (a sybil.Example)
    """Sybil evaluator for ```bash fences: run the fence, fail with its output if it fails."""
    source = str(example.parsed)
    script = (
        "set -e -o pipefail\n"
        "trap 'echo \"example: exit status $? from: $BASH_COMMAND\" >&2' ERR\n" + source
    )
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    began = time.monotonic()
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=os.getcwd(),
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=time_limit(BASH_TIMEOUT_S))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=time_limit(20))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        output += f"\nexample: timed out after {time_limit(BASH_TIMEOUT_S):g} s"
    if proc.returncode != 0:
        failed = re.findall(r"example: exit status \d+ from: .*", output)
        tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
        raise AssertionError(
            f"{document_name(example.path)} line {example.line}: bash exited with status "
            f"{proc.returncode} after {time.monotonic() - began:.1f} s\n"
            f"{failed[-1] if failed else 'example: the fence failed'}\n"
            f"--- the fence ---\n{source.rstrip()}\n"
            f"--- its output (last {OUTPUT_TAIL_LINES} lines) ---\n{tail}"
        )


def run_python(example) -> None:  # noqa: ANN001  (a sybil.Example)
    """Sybil evaluator for ```python fences: run the fence alone, in a fresh namespace (a
    traceback names the document's own lines)."""
    __tracebackhide__ = True
    source = pad(str(example.parsed), example.line + example.parsed.line_offset)
    exec(
        compile(source, str(example.path), "exec", dont_inherit=True),  # noqa: S102
        {"__name__": "__doc_example__"},
    )


def undefined_names(source: str) -> set[str]:
    """Names a piece of Python reads at module level (or as a global from a function) but
    neither assigns, imports, defines nor finds among the builtins."""
    top = symtable.symtable(source, "<fence>", "exec")
    bound = {
        s.get_name()
        for s in top.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }
    used: set[str] = set()

    def walk(table: symtable.SymbolTable) -> None:
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is top or sym.is_global()):
                used.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    walk(top)
    return used - bound - set(dir(builtins))


SYBIL = Sybil(
    parsers=[CodeBlockParser("python", run_python), CodeBlockParser("bash", run_bash), SkipParser()]
)


def _plan(path: Path) -> list[tuple[list, object]]:
    """A document's code examples in order, each with the skip directives that come right
    before it (they are evaluated just before it, so selecting a subset with -k still skips
    the right examples)."""
    plan, pending = [], []
    for example in SYBIL.parse(path).examples():
        if isinstance(example.region.evaluator, Skipper):
            pending.append(example)
        else:
            plan.append((pending, example))
            pending = []
    return plan


def _language(example) -> str:  # noqa: ANN001
    return "bash" if example.region.evaluator is run_bash else "python"


def _reason(directive) -> str:  # noqa: ANN001
    return str(directive.parsed[1] or "").strip("\"' ")


def _skipped(directives: list) -> bool:
    return any(directive.parsed[0] == "next" for directive in directives)


_PLANS = {document_name(path): _plan(path) for path in documents()}
_EXAMPLES = [(doc, *step) for doc, plan in _PLANS.items() for step in plan]
_IDS = [f"{doc}:{example.line}" for doc, _, example in _EXAMPLES]


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each document's one working directory, empty at its first example."""
    made: dict[str, Path] = {}

    def for_document(doc: str) -> Path:
        if doc not in made:
            made[doc] = tmp_path_factory.mktemp(re.sub(r"[^\w.-]", "-", doc))
        return made[doc]

    return for_document


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_EXAMPLES)), ids=_IDS)
def test_doc_example(
    index: int, work_dir: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, directives, example = _EXAMPLES[index]
    monkeypatch.chdir(work_dir(doc))
    try:
        for directive in directives:
            directive.evaluate()
        example.evaluate()
    except unittest.SkipTest as skip:
        pytest.skip(f"{doc} line {example.line}: {skip}")


def test_every_fence_is_found_and_every_skip_says_why() -> None:
    """Guards against documents whose examples silently stop being tested: fences whose
    language the parser does not see, skips without a reason, hidden setup code."""
    for path in documents():
        doc, text = document_name(path), path.read_text(encoding="utf-8")
        fences = re.findall(r"^```(bash|python)\s*$", text, flags=re.M)
        assert len(fences) == len(_PLANS[doc]), f"{doc}: every ```bash and ```python fence"
        for directives, _ in _PLANS[doc]:
            for directive in directives:
                assert directive.parsed[0] == "next" and _reason(directive), (
                    f'{doc} line {directive.line}: use <!-- skip: next "reason" -->'
                )
        assert not re.search(r"<!--\s*(invisible-)?code", text), f"{doc}: no hidden examples"
    assert "docs/user-guide.md" in _PLANS and "docs/reference.md" in _PLANS


def test_no_fence_was_lost_when_the_readme_was_split() -> None:
    """Issue 31: the fences moved to docs/ still run, as many as the README ran before."""
    runnable = [example for _, directives, example in _EXAMPLES if not _skipped(directives)]
    assert len(runnable) >= RUNNABLE_FENCES_BEFORE_THE_SPLIT, [
        f"{document_name(example.path)}:{example.line}" for example in runnable
    ]


def test_a_copied_fence_is_the_fence_that_runs() -> None:
    """A skipped copy (the README's quick starts) names the document where its fence runs;
    it must still be that fence, word for word, and not skipped there."""
    copies = 0
    for doc, directives, example in _EXAMPLES:
        for directive in directives:
            named = COPY.search(_reason(directive))
            if not named:
                continue
            copies += 1
            where = named.group(1)
            assert where in _PLANS and where != doc, f"{doc} line {example.line}: no {where}"
            runs = [
                (_language(other), str(other.parsed))
                for others, other in _PLANS[where]
                if not _skipped(others)
            ]
            assert (_language(example), str(example.parsed)) in runs, (
                f"{doc} line {example.line}: this copy is no longer a fence that runs in {where}"
            )
    assert copies >= 3


def test_each_python_fence_defines_or_imports_every_name_it_uses() -> None:
    """Issue 29: each ```python fence runs alone, copied into a fresh interpreter."""
    problems = []
    for doc, _, example in _EXAMPLES:
        if _language(example) == "python":
            missing = undefined_names(str(example.parsed))
            if missing:
                problems.append(f"{doc} line {example.line}: {', '.join(sorted(missing))}")
    assert not problems, "fences that use names they do not import: " + "; ".join(problems)


def test_a_python_fence_runs_in_a_namespace_of_its_own(tmp_path: Path) -> None:
    """The evaluator the documents' fences run with: a later fence does not see an earlier
    fence's names, and a failure names the document's line."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```python\nimport json\n```\n\n```python\nprint(json.dumps(1))\n```\n", encoding="utf-8"
    )
    first, second = list(SYBIL.parse(doc).examples())
    first.evaluate()
    with pytest.raises(NameError, match="json"):
        second.evaluate()
    assert undefined_names(str(second.parsed)) == {"json"}


def test_the_test_command_is_the_one_ci_runs() -> None:
    """.ci/run runs the README's second fresh-machine command, byte for byte."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.split("# --- the README's test command ---\n", 1)[1].split("\n", 1)[0]
    assert f"```bash\n{command}\n```" in README.read_text(encoding="utf-8")


def test_a_failing_readme_command_fails_its_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bash evaluator reports the document, the failing command and its output."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```bash\necho first\nkeras-lstm-opt train --set train.epoks=1\necho never\n```\n",
        encoding="utf-8",
    )
    (example,) = list(SYBIL.parse(doc).examples())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError) as failed:
        example.evaluate()
    message = str(failed.value)
    assert message.startswith(f"{doc} line 1: bash exited with status 2")
    assert "exit status 2 from: keras-lstm-opt train --set train.epoks=1" in message
    output = message.split("--- its output", 1)[1]
    assert "unknown key" in output and "first" in output and "never" not in output


def test_a_newcomer_finds_the_two_commands_then_quick_starts_figures_and_the_docs() -> None:
    """Finding 11: the quick start was buried among measurements, and launcher text sat
    under the Redis heading. Issue 31: the README is the way in, docs/ the manual."""
    text = README.read_text(encoding="utf-8")
    sections = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sections[:4] == [
        "Two commands on a fresh machine",
        "Quick start",
        "Headline figures",
        "Documentation",
    ], sections
    measurements = (DOCS / "measurements.md").read_text(encoding="utf-8")
    redis = measurements.split("## Redis as a dataset cache", 1)[1].split("\n## ", 1)[0]
    assert "launch" not in redis and "backup" not in redis.lower()
