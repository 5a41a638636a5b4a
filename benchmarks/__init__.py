"""Benchmarks, side by side: `python benchmarks/bench.py --mode ...` (JSON + table + PNG).

From a clone of the repository: benchmarks/ is not in the wheel. `bench` parses the command
line (`bench_args`) and hands each mode to its runner (`bench_input`, `bench_training`,
`bench_inference`, `bench_network`, `bench_text`; `bench_output` writes what they share).

* `lstm`: a training step of keras.layers.LSTM, FastLSTM and PyTorch's nn.LSTM (torch:
  the `bench` extra), with the machine's matmul ceiling;
* `predict`: inference (batch throughput, batch-1 latency p50/p99) of keras.layers.LSTM,
  FastLSTM, PyTorch and ONNX Runtime on our ONNX export;
* `importer`: `data import` throughput and peak RSS on a large real-text CSV
  (`python -m benchmarks.importer`);
* `corpora` (`suite`, its entries in `suite_rounds_1_2` and `suite_rounds_3_6`, `Corpus` in
  `suite_corpus`, and the `corpora_*` builders): the real offline data sets as CSV: the
  text suite (42 corpora in round 5) in a development and a held-out half, and the CO2 record;
* `real_text` (`real_text_corpus`: the split; `real_text_ours`; `real_text_report`: rows and
  PNG; `real_text_verdict`; `rivals`): keras-lstm-opt's defaults against a Keras tutorial, TF-IDF +
  logistic regression on word and on character n-grams, and fastText, on real text corpora
  (accuracy, macro-F1, time to each best and to the tutorial's best, the gap);
* `trainer`: the overhead of our loop, `klo.Trainer.fit` against Keras's `model.fit` on
  one user model;
* `data`: variants of the TFRecord input pipeline;
* `storage`: TFRecord compression, cache formats and tf.data snapshots;
* `redis_cache`: Redis as a shared dataset cache (the `redis` client and a
  redis-server) against tf.data's memory cache and a snapshot;
* `quota`: quota-aware threading, jobs sharing a machine under cgroup CPU quotas;
* `tta`: time to accuracy, a Keras tutorial against keras-lstm-opt's defaults.

Apart from the profiler (keras_lstm_opt.profiling, `keras-lstm-opt profile`): the
benchmarks use its throughput and report helpers, never the other way round (an
import-linter contract in setup.cfg), so the profiler needs none of the optional extras.
"""

import os as _os

# Benchmarks start child processes (`python -m benchmarks.rivals ...`) in other working
# directories: they find this folder through PYTHONPATH, as this process did.
_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _ROOT not in _os.environ.get("PYTHONPATH", "").split(_os.pathsep):
    _os.environ["PYTHONPATH"] = _os.pathsep.join(
        p for p in (_ROOT, _os.environ.get("PYTHONPATH")) if p
    )
