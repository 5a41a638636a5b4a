"""A SIGINT or SIGTERM while an output is published waits for it (issue 29, item 6).

100 imports into one directory, alternately of 2 and 40 training shards, each sent one
SIGTERM at a random moment (half of them near the end, where the import moves its
shards and schema.json into place): after each, the directory holds one whole import,
the earlier one or the new one, never a mix (schema.json lists exactly the shards
there), and the CLI's stop line says which. Without the deferral
(`signals_deferred.publishing`) a few of the 100 land in the move and leave a mix.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from keras_lstm_opt.signals_deferred import forget, published, publishing

from ..conftest import time_limit
from .test_cli_safety import ROWS

# Run in a child: imports into one directory, alternately with 2 and 40 training shards,
# each sent one SIGTERM at a random moment (a timer thread kills its own process: the
# signal arrives as one from outside would). After each, the directory must hold one
# complete import, and the stop line must say which one.
PUBLISH_CHILD = """\
import json, os, random, signal, sys, threading, time
from argparse import Namespace
from keras_lstm_opt import signals_deferred
from keras_lstm_opt.cli.signals import Stopped, stop_on_signals, stopped_line
from keras_lstm_opt.data.importer import import_data

src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
signal.signal(signal.SIGTERM, lambda *a: None)  # one that came after the import: dropped
GENERATIONS = (2, 40)

def imported(shards):
    import_data(src, out, text="text", label="label", progress=False, shards=shards)

def generation():
    with open(os.path.join(out, "schema.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    listed = {f for s in schema["splits"].values() for f in s["files"]}
    present = set(os.listdir(out)) - {"schema.json"}
    assert present == listed, f"mixed: {sorted(present ^ listed)[:6]}"
    shards = len(schema["splits"]["train"]["files"])
    assert shards in GENERATIONS, shards
    return shards

imported(GENERATIONS[0])  # TensorFlow warms up
began = time.monotonic(); imported(GENERATIONS[1]); imported(GENERATIONS[0])
took = (time.monotonic() - began) / 2
rng, outcomes = random.Random(0), {"finished": 0, "kept": 0, "new": 0}
args = Namespace(command="data", data_command="import", out=out)
for i in range(n):
    earlier = generation()
    shards = GENERATIONS[1] if earlier == GENERATIONS[0] else GENERATIONS[0]
    # half at any moment of the import, half near its end (where it publishes)
    delay = rng.uniform(0, took) if i % 4 < 2 else rng.uniform(0.7 * took, 1.05 * took)
    signals_deferred.forget()
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        with stop_on_signals():
            timer.start()
            try:
                imported(shards)
            finally:
                timer.cancel()
                timer.join()
        outcome = "finished"
    except Stopped as exc:
        line = stopped_line(args, exc.signum)
        outcome = "new" if generation() == shards else "kept"
        want = "the new import in" if outcome == "new" else "keeps the earlier import"
        assert want in line, (outcome, line)
    now = generation()
    assert now == (earlier if outcome == "kept" else shards), (outcome, earlier, now)
    outcomes[outcome] += 1
print(json.dumps({**outcomes, "seconds_per_import": round(took, 3)}))
"""


def test_a_sigterm_while_publishing_leaves_one_whole_import(tmp_path):
    src = tmp_path / "texts.csv"
    src.write_text("text,label\n" + ROWS * 3)
    proc = subprocess.run(
        [sys.executable, "-c", PUBLISH_CHILD, str(src), str(tmp_path / "data"), "100"],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    outcomes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcomes["kept"] + outcomes["new"] > 0, outcomes  # some signals came mid-import


def test_a_sigint_in_the_block_is_delivered_after_it(tmp_path):
    forget()
    steps = []
    # Python's own handler, as a terminal starts it (a shell's background job starts with
    # SIGINT ignored, and Python then leaves it ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):  # Python's handler, run after the block
            with publishing(str(tmp_path)):
                signal.raise_signal(signal.SIGINT)
                steps.append("the rest of the block ran")
        assert steps == ["the rest of the block ran"]
        assert published(str(tmp_path))
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
