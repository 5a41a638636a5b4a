"""Benchmarks, side by side: `python tools/bench.py --mode ...` (JSON + table + PNG).

* `lstm`: a training step of keras.layers.LSTM, FastLSTM and PyTorch's nn.LSTM (torch:
  the `bench` extra), with the machine's matmul ceiling;
* `predict`: inference (batch throughput, batch-1 latency p50/p99) of keras.layers.LSTM,
  FastLSTM, PyTorch and ONNX Runtime on our ONNX export;
* `importer`: `data import` throughput and peak RSS on a large real-text CSV
  (`python -m keras_lstm_opt.bench.importer`);
* `corpora` (and `corpora_text`): the real offline data sets (WordNet glosses, fortune
  quotations, man pages, the CO2 record) as CSV;
* `real_text`: keras-lstm-opt's defaults against a Keras tutorial and TF-IDF + logistic
  regression on real text corpora (accuracy, macro-F1, time to the tutorial's best);
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
