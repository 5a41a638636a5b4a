"""The README's examples, run as tests (issue 14, item 9), with Sybil.

Sybil (https://sybil.readthedocs.io) parses README.md: its ```python and ```bash fences and its
`<!-- skip: next "reason" -->` directives. Each example is one test, run in README order:

* every example of the document runs in one empty temporary working directory, so relative
  paths (`runs/a`, `mydata`) behave as they would for a user who pip-installed the package;
* a ```bash fence runs in a fresh `bash -e -o pipefail` (with this interpreter's bin directory
  first on PATH, so `keras-lstm-opt` is the one under test); a non-zero exit fails the test
  with the failing command, the whole fence and the tail of its output;
* a ```python fence runs in the document's one namespace (Sybil's PythonEvaluator), so a later
  example sees what an earlier one defined or wrote; an exception fails the test;
* a skip directive skips the next example, with its reason (`pytest -rs` lists them).

Nothing here shrinks the work: the sizes are the `--set` overrides written in the README.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BASH_TIMEOUT_S = 600  # one fence; the slowest (a 2-worker launch) takes about 40 s
OUTPUT_TAIL_LINES = 60


def run_bash(example) -> None:  # noqa: ANN001  (a sybil.Example)
    """Sybil evaluator for ```bash fences: run the fence, fail with its output if it fails."""
    source = str(example.parsed)
    script = ("set -e -o pipefail\n"
              "trap 'echo \"README: exit status $? from: $BASH_COMMAND\" >&2' ERR\n" + source)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    began = time.monotonic()
    proc = subprocess.Popen(["bash", "-c", script], cwd=os.getcwd(), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
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
            f"--- its output (last {OUTPUT_TAIL_LINES} lines) ---\n{tail}")


SYBIL = Sybil(parsers=[PythonCodeBlockParser(), CodeBlockParser("bash", run_bash), SkipParser()])


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
            assert action == "next" and reason and reason.strip('"\' '), (
                f"README.md line {directive.line}: use <!-- skip: next \"reason\" -->")
    assert not re.search(r"<!--\s*(invisible-)?code", text), "no hidden examples"


def test_the_test_command_is_the_one_ci_runs() -> None:
    """.ci/run runs the README's second fresh-machine command, byte for byte."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.split("# --- the README's test command ---\n", 1)[1].split("\n", 1)[0]
    assert f"```bash\n{command}\n```" in README.read_text(encoding="utf-8")


def test_a_failing_readme_command_fails_its_test(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The bash evaluator reports the failing command and its output."""
    doc = tmp_path / "doc.md"
    doc.write_text("```bash\necho first\nkeras-lstm-opt train --set train.epoks=1\necho never\n"
                   "```\n", encoding="utf-8")
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
    assert sections[:4] == ["Two commands on a fresh machine", "User guide", "Reference",
                            "Measurements"], sections
    redis = text.split("### Redis as a dataset cache", 1)[1].split("\n## ", 1)[0]
    redis = redis.split("\n### ", 1)[0]
    assert "launch" not in redis and "backup" not in redis.lower()
