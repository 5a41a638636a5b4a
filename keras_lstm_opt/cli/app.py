"""`keras-lstm-opt` command line: parses arguments and calls the public API.

    keras-lstm-opt train [CONFIG or NAME] [--set KEY=VALUE ...] [--run-dir DIR] [--overwrite]
    keras-lstm-opt data make --task {text,forecast} --examples N --out DIR
    keras-lstm-opt data import SRC --out DIR (--text COL --label COL | --time COL ...)
    keras-lstm-opt evaluate RUN_DIR [--data SRC_OR_DIR]
    keras-lstm-opt predict RUN_DIR SRC [--out FILE]
    keras-lstm-opt export RUN_DIR --format saved_model|onnx --out DIR
    keras-lstm-opt data serve [--workers K] [--network host] [-- COMMAND ...]
    keras-lstm-opt check-cudnn [CONFIG] [--set KEY=VALUE ...] [--json]
    keras-lstm-opt tune CONFIG [--set KEY=VALUE ...] [--run-dir DIR] [--tuners N]
    keras-lstm-opt profile [CONFIG] [--set KEY=VALUE ...] [--run-dir DIR]
    keras-lstm-opt launch --workers N [--max-restarts K] -- COMMAND ...   (also --emit ...)
    keras-lstm-opt config show [NAME]
    keras-lstm-opt build-kernels [--force]
    keras-lstm-opt --version

The config is read and checked before TensorFlow is imported (a mistake is reported at
once), and TensorFlow's C++ start-up log lines are hidden unless `--verbose` or
`TF_CPP_MIN_LOG_LEVEL` is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any


def _parser() -> argparse.ArgumentParser:
    from keras_lstm_opt import __version__
    from keras_lstm_opt.cli.config_cmd import add_config_parser
    from keras_lstm_opt.cli.data import add_data_parsers
    from keras_lstm_opt.cli.serve import add_serve_parser
    from keras_lstm_opt.cli.user_data import add_parsers

    p = argparse.ArgumentParser(
        prog="keras-lstm-opt", description="Fast, well-managed LSTM training with Keras."
    )
    p.add_argument("--version", action="version", version=f"keras-lstm-opt {__version__}")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's C++ start-up logs and debug lines",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        default=False,
        help="show TensorFlow's C++ start-up logs and debug lines",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[verbose])

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "config",
            nargs="?",
            metavar="CONFIG",
            help="YAML config file, or a bundled config's name (`config "
            "list` lists them); default: the built-in defaults",
        )
        sp.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config key, e.g. train.epochs=3 (repeatable)",
        )

    train = add("train", "train a model and write a run directory")
    with_config(train)
    train.add_argument(
        "--run-dir",
        help="output directory (default runs/<timestamp>); an unfinished run there is resumed",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run in --run-dir (else train refuses)",
    )

    add_data_parsers(add("data", "dataset tools"), verbose)
    add_parsers(add)
    add_serve_parser(add)
    tune = add("tune", "KerasTuner search over the config's tune.space")
    with_config(tune)
    tune.add_argument(
        "--run-dir",
        help="search directory (default runs/tune-<timestamp>); "
        "rerunning on it continues the search",
    )
    tune.add_argument(
        "--budget",
        type=_duration,
        metavar="DURATION",
        help="wall-clock budget of the search, e.g. 90s, 10m, 1.5h (sets "
        "tune.max_minutes; trials until it is spent unless "
        "tune.max_trials is set)",
    )
    tune.add_argument(
        "--tuners", type=int, default=0, help="run N tuner workers and a chief oracle on 127.0.0.1"
    )

    prof = add("profile", "measured bottleneck analysis and resource plan")
    with_config(prof)
    prof.add_argument("--run-dir", help="output directory (default runs/profile-<timestamp>)")

    cud = add("check-cudnn", "which LSTM layers would run on cuDNN, and why not")
    with_config(cud)
    cud.add_argument("--json", action="store_true", help="machine-readable output")

    kern = add("build-kernels", "compile FastLSTM's fused CPU kernels now (else on first use)")
    kern.add_argument("--force", action="store_true", help="rebuild even if cached")

    add_config_parser(add)

    add(
        "launch",
        "local multi-worker runs and cluster manifests: keras-lstm-opt launch "
        "--workers N -- COMMAND (see `keras-lstm-opt launch --help`)",
    )
    return p


def _tensorflow(args: argparse.Namespace) -> None:
    """Load TensorFlow now (config already checked), quietly unless --verbose."""
    from keras_lstm_opt.tf_quiet import import_tensorflow

    import_tensorflow(verbose=getattr(args, "verbose", False))


def _build_kernels(args: argparse.Namespace) -> int:
    _tensorflow(args)
    from keras_lstm_opt.models.kernels import build_kernels, load_kernels

    path = build_kernels(force=args.force)  # KernelBuildError (a RuntimeError) -> exit 1
    if load_kernels() is None:
        from keras_lstm_opt.models.kernels import kernel_status

        print(f"error: built {path} but it does not load: {kernel_status()}", file=sys.stderr)
        return 1
    print(f"fused LSTM kernels: {path}")
    return 0


def _duration(text: str) -> float:
    from keras_lstm_opt.config.parse import duration_minutes

    try:
        return duration_minutes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tune(args: argparse.Namespace) -> int:
    import time

    from keras_lstm_opt.config import given_keys, load_config
    from keras_lstm_opt.config.parse import ANYTIME_TRIALS

    if args.budget:
        args.overrides = [*args.overrides, f"tune.max_minutes={args.budget:g}"]
        if "tune.max_trials" not in given_keys(load_config(args.config, args.overrides)):
            args.overrides.append(f"tune.max_trials={ANYTIME_TRIALS}")  # any-time
    cfg = load_config(args.config, args.overrides)  # fail fast, before any process starts
    run_dir = args.run_dir or os.path.join("runs", time.strftime("tune-%Y%m%d-%H%M%S"))
    _check_outputs(cfg, run_dir, "the search directory (--run-dir)")
    args.run_dir = run_dir  # named if a signal stops the search
    if args.tuners and "KERASTUNER_TUNER_ID" not in os.environ:
        from keras_lstm_opt.tuning.launch import launch_tuners

        cmd = [sys.executable, "-m", "keras_lstm_opt.cli", "tune", "--run-dir", run_dir]
        cmd += [args.config] if args.config else []
        for item in args.overrides:
            cmd += ["--set", item]
        return launch_tuners(cmd, args.tuners)
    _tensorflow(args)
    from keras_lstm_opt.tuning.search import tune

    rows = tune(cfg, run_dir)
    if rows is not None:
        print(
            f"\nsearch directory: {run_dir}; best {cfg.tune.objective} "
            f"{rows[0]['objective']:.4f} (trial {rows[0]['trial_id']}); "
            f"train it with: keras-lstm-opt train {os.path.join(run_dir, 'best.yaml')}"
        )
    return 0


def _profile(args: argparse.Namespace) -> int:
    import time

    from keras_lstm_opt.config import load_config

    cfg = load_config(args.config, args.overrides)  # before TensorFlow: mistakes at once
    run_dir = args.run_dir or os.path.join("runs", time.strftime("profile-%Y%m%d-%H%M%S"))
    _check_outputs(cfg, run_dir, "the profile directory (--run-dir)")
    args.run_dir = run_dir  # named if a signal stops it
    _tensorflow(args)
    from keras_lstm_opt.profiling.profile_report import profile

    r = profile(cfg, run_dir)
    print(
        f"\nverdict: {r['verdict']} ({r['input_bound_percent']:.1f}% of the step waits for "
        f"input; step {r['step_ms']:.1f} ms, model alone {r['model_ms_per_step']:.1f} ms, "
        f"pipeline alone {r['pipeline_ms_per_batch']:.1f} ms/batch)"
    )
    if r.get("xprof"):
        x = r["xprof"]
        print(f"xprof: {x['steps']} steps, input share {x['input_bound_percent']}")
    for rec in r["recommendations"]:
        print(f"  - {rec['advice']} (because {rec['because']})")
    print(f"wrote {run_dir}/report.json, report.md, report.png")
    return 0


def _check_outputs(cfg: Any, run_dir: str, what: str) -> None:
    """Before any work: the run directory and, for remote shards, the stage directory
    can be written (UnwritablePathError, exit 2, naming the path)."""
    from keras_lstm_opt.io.staging import check_stage_dir
    from keras_lstm_opt.io.writable import check_writable

    check_writable(run_dir, what)
    check_stage_dir(cfg.data)


def _check_cudnn(args: argparse.Namespace) -> int:
    from keras_lstm_opt.config import load_config

    cfg = load_config(args.config, args.overrides)
    _tensorflow(args)
    from keras_lstm_opt.config.auto import auto_settings
    from keras_lstm_opt.data.pipeline import resolve_files
    from keras_lstm_opt.models.cudnn import cudnn_report, format_report
    from keras_lstm_opt.models.factory import build_model

    schema = resolve_files(cfg.data).schema
    model = build_model(
        auto_settings(cfg, schema)[0].model,
        schema,  # as `train` builds it
        cfg.train.precision,
    )
    verdicts = cudnn_report(model)
    if args.json:
        print(json.dumps(verdicts.to_dicts(), indent=2))
    else:
        print(format_report(verdicts))
    missed = any(not v.eligible for v in verdicts)
    return 1 if missed and cfg.model.require_cudnn else 0


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
    except KeyboardInterrupt as exc:  # Ctrl-C before a command started: one line
        from keras_lstm_opt.cli.signals import signum_of, stopped_line

        print(stopped_line(None, signum_of(exc)), file=sys.stderr)
        code = 128 + signum_of(exc)
    except BrokenPipeError:  # `predict ... | head`: the reader has what it wanted
        # (stdout to /dev/null, or the interpreter's last flush fails again; 141 = 128 +
        # SIGPIPE, as a shell reports a program that wrote to a closed pipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except BaseException:
        _leave(1, report=True)
        raise
    _leave(code)
    return code


def _leave(code: int, report: bool = False) -> None:
    """Leave with the run's own status, at once, where a normal interpreter exit goes
    wrong; return otherwise.

    - After tensorflow-io's S3 file system was used, TensorFlow 2.16 aborts at exit
      ("pure virtual method called", status 134) while tearing the plugin down.
    - A worker of a multi-worker run that finished or stopped with the others first
      waits for them (`depart_together`): all then leave within milliseconds, before a
      heartbeat could find a peer gone.
    Everything is written by now: flush and leave."""
    from keras_lstm_opt.io.storage import used_remote

    together = False
    if not report and code in (0, 130, 143):  # done, or a stop every worker made together
        from keras_lstm_opt.distribute.departure import depart_together

        together = depart_together()  # (a worker that failed alone leaves at once: its
        # peers find it gone, as before, instead of waiting for it at the barrier)
    if not (together or used_remote()):
        return
    if report:
        import traceback

        traceback.print_exc()
    if together and not used_remote():
        import atexit

        atexit._run_exitfuncs()  # e.g. autograph's temporary modules; milliseconds
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["launch"]:  # its own parser: everything after -- is the command
        from keras_lstm_opt.cli.launch import main as launch_main

        return launch_main(argv[1:], may_reexec=True)
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("keras_lstm_opt").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from keras_lstm_opt.cli.signals import signum_of, stop_on_signals, stopped_line
    from keras_lstm_opt.errors import KloError, TrainingInterrupted

    try:
        if args.command in ("train", "serve"):  # their own handlers: a backup; a drain
            return _dispatch(args)
        with stop_on_signals():  # SIGINT/SIGTERM -> Stopped: one line, 128 + the signal
            return _dispatch(args)
    except TrainingInterrupted as exc:
        _cause(exc, args.verbose)
        print(f"stopped: {exc}", file=sys.stderr)
        return exc.exit_code
    except KloError as exc:  # the user's mistake or the machine's; bugs show a traceback
        _cause(exc, args.verbose)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the writers left no half output
        _cause(exc, args.verbose)
        print(stopped_line(args, signum_of(exc)), file=sys.stderr)
        return 128 + signum_of(exc)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        from keras_lstm_opt.cli.config_cmd import config_command

        return config_command(args, lambda: _tensorflow(args))
    if args.command == "train":
        from keras_lstm_opt.cli.train import train

        return train(args, lambda: _tensorflow(args))
    if args.command == "data":
        from keras_lstm_opt.cli.data import data_command

        return data_command(args, lambda: _tensorflow(args))
    if args.command == "tune":
        return _tune(args)
    if args.command == "profile":
        return _profile(args)
    if args.command == "build-kernels":
        return _build_kernels(args)
    if args.command == "serve":
        from keras_lstm_opt.cli.serve import serve_command

        return serve_command(args, lambda: _tensorflow(args))
    if args.command in ("evaluate", "predict", "export"):
        from keras_lstm_opt.cli.user_data import run

        return run(args, lambda: _tensorflow(args))
    return _check_cudnn(args)


def _cause(exc: BaseException, verbose: bool) -> None:
    """With --verbose, the traceback behind an error (e.g. TensorFlow's gRPC trace behind a
    lost peer); without it, only our one message."""
    if verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
