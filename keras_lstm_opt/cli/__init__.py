"""`keras-lstm-opt`: the command line, argument parsing and messages only.

* `app`: the parser and the dispatch of every command (`keras-lstm-opt` calls `cli.main`);
* `train`: `train`, its checks and the run directory's lock before TensorFlow loads;
* `data`: `data make | import | serve`;
* `user_data`: `data import`, `evaluate`, `predict` on a user's own files;
* `launch`: `launch` (local workers and cluster manifests), also `tools/launch.py`;
* `signals`: SIGINT and SIGTERM for the commands other than `train` (`stop_handler`);
* `lazy`: Keras's scikit-learn and plotting extras loaded at their first use.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]); return the exit status."""
    from keras_lstm_opt.cli.lazy import defer_keras_extras

    defer_keras_extras()  # before anything imports TensorFlow (and so Keras)
    from keras_lstm_opt.cli.app import main as run

    return run(argv)
