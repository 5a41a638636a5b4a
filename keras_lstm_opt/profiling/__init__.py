"""Profiling: `keras-lstm-opt profile`, the TensorBoard profiler, bottleneck and resources."""
