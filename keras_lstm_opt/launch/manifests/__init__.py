"""Cluster manifests for a `keras-lstm-opt launch --emit k8s|slurm|yarn` command line.

* `k8s`: a Kubeflow TFJob, or a plain Indexed Job + headless Service, with resources, a
  PriorityClass and a NetworkPolicy; `python -m keras_lstm_opt.launch.manifests.k8s`
  prints an Indexed Job pod's TF_CONFIG;
* `slurm`: an sbatch script; `python -m keras_lstm_opt.launch.manifests.slurm` prints a
  task's TF_CONFIG (TensorFlow's SlurmClusterResolver);
* `yarn`: a Skein application spec; `python -m keras_lstm_opt.launch.manifests.yarn`
  publishes a container's address and prints its TF_CONFIG.

Nothing here imports the local launcher (keras_lstm_opt.launch.launcher, .netns), nor
the other way round (an import-linter contract in setup.cfg). Kept free of imports, so
that the `python -m` entry points inside a pod load only their own module.
"""
