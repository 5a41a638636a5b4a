"""The README's examples, run as tests (issue 14, item 9), with Sybil.

Sybil (https://sybil.readthedocs.io) parses README.md: its ```python and ```bash fences and its
`<!-- skip: next "reason" -->` directives. Each example is one test, run in README order:

* every example of the document runs in one empty temporary working directory, so relative
  paths (`runs/a`, `mydata`) behave as they would for a user who pip-installed the package;
* a ```bash fence runs in a fresh `bash -e -o pipefail` (with this interpreter's bin directory
  first on PATH, so `keras-lstm-opt` is the one under test); a non-zero exit fails the test
  with the failing command, the whole fence and the tail of its output;
* a ```python fence runs in a fresh namespace of its own (`run_python`), so each imports what
  it uses, as a user who copies that one fence would need (issue 29: the `klo.fit` fence used
  `klo` unimported and passed, in a namespace shared with the fences before it); files an
  earlier example wrote are still there, as in a user's directory; an exception fails the test;
  `test_each_python_fence_defines_or_imports_every_name_it_uses` checks the same without
  running anything, fast;
* a skip directive skips the next example, with its reason (`pytest -rs` lists them).

Nothing here shrinks the work: the sizes are the `--set` overrides written in the README.
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
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.evaluators.python import pad
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, SkipParser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BASH_TIMEOUT_S = 600  # one fence; the slowest (a 2-worker launch) takes about 40 s
OUTPUT_TAIL_LINES = 60


def run_bash(example) -> None:  # noqa: ANN001  (a sybil.Example)
    """Sybil evaluator for ```bash fences: run the fence, fail with its output if it fails."""
    source = str(example.parsed)
    script = (
        "set -e -o pipefail\n"
        "trap 'echo \"README: exit status $? from: $BASH_COMMAND\" >&2' ERR\n" + source
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
        output, _ = proc.communicate(timeout=BASH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        output += f"\nREADME: timed out after {BASH_TIMEOUT_S} s"
    if proc.returncode != 0:
        failed = re.findall(r"README: exit status \d+ from: .*", output)
        tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
        raise AssertionError(
            f"README.md line {example.line}: bash exited with status {proc.returncode} after "
            f"{time.monotonic() - began:.1f} s\n"
            f"{failed[-1] if failed else 'README: the fence failed'}\n"
            f"--- the fence ---\n{source.rstrip()}\n"
            f"--- its output (last {OUTPUT_TAIL_LINES} lines) ---\n{tail}"
        )


def run_python(example) -> None:  # noqa: ANN001  (a sybil.Example)
    """Sybil evaluator for ```python fences: run the fence alone, in a fresh namespace (a
    traceback names README.md's own lines)."""
    __tracebackhide__ = True
    source = pad(str(example.parsed), example.line + example.parsed.line_offset)
    exec(
        compile(source, example.path, "exec", dont_inherit=True),  # noqa: S102
        {"__name__": "__readme__"},
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


def _plan(path: Path) -> tuple[object, list[tuple[list, object]]]:
    """The parsed document and its code examples in order, each with the skip directives that
    come right before it (they are evaluated just before it, so selecting a subset with -k
    still skips the right examples)."""
    document = SYBIL.parse(path)
    plan, pending = [], []
    for example in document.examples():
        if isinstance(example.region.evaluator, Skipper):
            pending.append(example)
        else:
            plan.append((pending, example))
            pending = []
    return document, plan


def _language(example) -> str:  # noqa: ANN001
    return "bash" if example.region.evaluator is run_bash else "python"


_DOCUMENT, _PLAN = _plan(README)
_IDS = [f"L{example.line}-{_language(example)}" for _, example in _PLAN]


@pytest.fixture(scope="module")
def readme_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The document's one working directory, empty at the start."""
    return tmp_path_factory.mktemp("readme")


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_PLAN)), ids=_IDS)
def test_readme_example(index: int, readme_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directives, example = _PLAN[index]
    monkeypatch.chdir(readme_dir)
    try:
        for directive in directives:
            directive.evaluate()
        example.evaluate()
    except unittest.SkipTest as skip:
        pytest.skip(f"README.md line {example.line}: {skip}")


def test_every_readme_fence_is_found_and_every_skip_says_why() -> None:
    """Guards against a README whose examples silently stop being tested: fences whose
    language the parser does not see, skips without a reason, hidden setup code."""
    text = README.read_text(encoding="utf-8")
    fences = re.findall(r"^```(bash|python)\s*$", text, flags=re.M)
    assert len(fences) == len(_PLAN), "every ```bash and ```python fence is an example"
    assert len(_PLAN) >= 15
    for directives, _ in _PLAN:
        for directive in directives:
            action, reason = directive.parsed
            assert action == "next" and reason and reason.strip("\"' "), (
                f'README.md line {directive.line}: use <!-- skip: next "reason" -->'
            )
    assert not re.search(r"<!--\s*(invisible-)?code", text), "no hidden examples"


def test_each_python_fence_defines_or_imports_every_name_it_uses() -> None:
    """Issue 29: each ```python fence runs alone, copied into a fresh interpreter."""
    problems = []
    for _, example in _PLAN:
        if _language(example) == "python":
            missing = undefined_names(str(example.parsed))
            if missing:
                problems.append(f"README.md line {example.line}: {', '.join(sorted(missing))}")
    assert not problems, "fences that use names they do not import: " + "; ".join(problems)


def test_a_python_fence_runs_in_a_namespace_of_its_own(tmp_path: Path) -> None:
    """The evaluator the README's fences run with: a later fence does not see an earlier
    fence's names, and a failure names README.md's line."""
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
    """The bash evaluator reports the failing command and its output."""
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
    assert "exit status 2 from: keras-lstm-opt train --set train.epoks=1" in message
    output = message.split("--- its output", 1)[1]
    assert "unknown key" in output and "first" in output and "never" not in output


def test_a_newcomer_finds_the_two_commands_then_the_guide_then_reference_and_figures() -> None:
    """Finding 11: the quick start was buried among measurements, and launcher text sat
    under the Redis heading."""
    text = README.read_text(encoding="utf-8")
    sections = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sections[:4] == [
        "Two commands on a fresh machine",
        "User guide",
        "Reference",
        "Measurements",
    ], sections
    redis = text.split("### Redis as a dataset cache", 1)[1].split("\n## ", 1)[0]
    redis = redis.split("\n### ", 1)[0]
    assert "launch" not in redis and "backup" not in redis.lower()
