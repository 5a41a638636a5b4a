"""Starting training processes: locally, or on a cluster through manifests.

* `cli`: `keras-lstm-opt launch` (and `python tools/launch.py`), which parses the options
  and hands them to one of the two halves below; it is the only module that imports both.
* the local launcher: `launcher` (N workers on 127.0.0.1, each with its TF_CONFIG,
  `[worker i]` output, stop-all on failure, restarts) and `netns` (a private network
  namespace, so the workers' gRPC ports stay off the network);
* `manifests`: cluster manifests for the same command: Kubernetes (`manifests.k8s`),
  Slurm (`manifests.slurm`) and YARN (`manifests.yarn`); each module is also what the
  pods, tasks or containers run to build their TF_CONFIG (`python -m ...`).

Both halves build TF_CONFIG with keras_lstm_opt.distribute.tf_config (library layer).
"""
