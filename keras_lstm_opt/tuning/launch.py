"""Distributed tuning on one host: a chief oracle and N tuner workers on 127.0.0.1.

KerasTuner's distributed mode: every process runs the same search; the one with
KERASTUNER_TUNER_ID=chief serves the oracle over gRPC at KERASTUNER_ORACLE_IP:PORT,
the others (tuner0, tuner1, ...) ask it for trials, so no trial runs twice. When the
chief fails, the workers are stopped and the error names it; a failed worker stops
the search too (its trial would otherwise stay open and the chief would wait forever).
A search directory that another search holds is refused before anything starts.

Example:

    rc = launch_tuners(["keras-lstm-opt", "tune", "cfg.yaml", "--run-dir", "runs/s"], 2)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from keras_lstm_opt.launch.launcher import (
    Worker,
    describe_exit,
    first_failure,
    free_ports,
    spawn,
    stop_all,
)
from keras_lstm_opt.training.run_lock import check_free


def launch_tuners(
    command: list[str],
    tuners: int,
    host: str = "127.0.0.1",
    grace_seconds: float = 10.0,
    out: TextIO = sys.stdout,
    run_dir: str | None = None,
) -> int:
    """Run `command` as the chief plus `tuners` workers; return the chief's status.

    Raises:
        RunDirBusyError: another search holds `run_dir` (default: the command's
            `--run-dir`); nothing is started. The chief takes the lock itself.
    """
    if run_dir is None and "--run-dir" in command[:-1]:
        run_dir = command[command.index("--run-dir") + 1]
    if run_dir is not None:
        check_free(run_dir)
    port = free_ports(1, host)[0]
    lock = threading.Lock()
    procs: list[Worker] = []
    ids = ["chief"] + [f"tuner{i}" for i in range(tuners)]
    try:
        for index, tuner_id in enumerate(ids):
            env = {
                **os.environ,
                "KERASTUNER_TUNER_ID": tuner_id,
                "KERASTUNER_ORACLE_IP": host,
                "KERASTUNER_ORACLE_PORT": str(port),
            }
            env.pop("TF_CONFIG", None)
            procs.append(spawn(index, command, env, out, lock, label=tuner_id))
            if index == 0:
                time.sleep(2.0)  # let the oracle server start listening first
        while True:
            bad, codes = first_failure(procs)
            if bad is not None:
                stop_all(procs, grace_seconds)
                who = ids[bad.index]
                print(
                    f"tune: {who} failed ({describe_exit(bad.proc.returncode)}); stopped "
                    "the others. Its last lines:\n"
                    + "\n".join(f"    {ln}" for ln in list(bad.tail)[-10:]),
                    file=sys.stderr,
                    flush=True,
                )
                return bad.proc.returncode if bad.proc.returncode > 0 else 1
            if codes[0] == 0:
                stop_all(procs, grace_seconds)
                return 0
            time.sleep(0.2)
    except BaseException:
        stop_all(procs, grace_seconds)
        raise
