"""Models: FastLSTM (fused CPU kernels, cuDNN on GPU), factory, heads, Predictor, cuDNN report."""
