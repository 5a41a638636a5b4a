"""FastLSTM: `keras.layers.LSTM` with a faster CPU training path; cuDNN kept on GPU.

The layer is a subclass of `keras.layers.LSTM`: the same arguments, the same
variables in the same layout (weights move both ways with `get_weights` /
`set_weights`, and `convert_lstm_layers` swaps the class in a whole model), the same
outputs. What changes is how it runs:

* On a GPU, when Keras would use cuDNN (see `keras_lstm_opt.cudnn_report`), it does:
  the call goes to Keras's own implementation.
* Elsewhere, when the layer uses the standard gates (tanh / sigmoid), no recurrent
  dropout and no unrolling, it runs the compiled C++ kernels (`fused.py`,
  `kernels/lstm_kernels.cc`): one op for the forward recurrence and one for its
  gradient, each spreading the batch over the intra-op threads. Where those cannot
  run (no compiler, XLA, float64), `lstm_recurrence` (`recurrence.py`): one large
  matmul for the input projection of every time step, a TensorFlow loop with one small
  matmul per step, and a hand-written gradient. Input dropout uses one mask for all
  time steps, as Keras's cuDNN path does.
* For inference (`training` false and no gradient tape recording, as in
  `model.predict`, `model(x)` or a serving function), the kernels run forward only
  (`kernels/lstm_infer.cc`): no activations kept for a backward pass, only the last
  output written unless `return_sequences`, the kernels packed once per call, each step
  split over the threads by units (so a thread the system slows holds up little), and
  for up to 8 rows (latency) the input projection of all steps done first. The
  TensorFlow loop likewise keeps nothing. A gradient asked of the inference op anyway
  (`tf.gradients` on a graph) is still exact: it reruns the training ops.
* Any other configuration falls back to Keras's generic loop.

Args:
    cpu_kernel: how the CPU path runs the recurrence. "auto" (default): the compiled
        C++ kernels (`keras_lstm_opt.models.kernels`, built on first use) when they
        can run (outside XLA; float32, or float16/bfloat16 computed in float32), else
        the TensorFlow loop. "fused": the kernels or an error saying why not.
        "loop": always the TensorFlow loop.
    Otherwise those of `keras.layers.LSTM`.

Example:

    x = keras.Input((None, 8))
    y = FastLSTM(32, return_sequences=True)(x)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import activations

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.models.fused import fused_lstm, fused_lstm_inference, fused_ops
from keras_lstm_opt.models.recurrence import lstm_recurrence

CPU_KERNELS = ("auto", "fused", "loop")


def _is(fn: Callable[..., Any], name: str, *same: Callable[..., Any]) -> bool:
    return fn in same or getattr(fn, "__name__", "") == name


def fused_math(layer: keras.layers.LSTM) -> bool:
    """Whether an LSTM layer's cell computes what the fused kernels do (tanh and sigmoid
    activations, no recurrent dropout, not unrolled)."""
    cell = layer.cell
    return (
        _is(cell.activation, "tanh", activations.tanh)
        and _is(cell.recurrent_activation, "sigmoid", activations.sigmoid)
        and not cell.recurrent_dropout
        and not layer.unroll
    )


def _inference(training: Any) -> bool:
    """No training and no gradient tape that could record this call (eager or traced)."""
    from tensorflow.python.eager import record  # TensorFlow-internal: whether a tape is active

    return (training is None or training is False) and not record.could_possibly_record()


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class FastLSTM(keras.layers.LSTM):
    """Long Short-Term Memory layer with a fused CPU path (see the module docstring)."""

    def __init__(self, units: int, cpu_kernel: str = "auto", **kwargs: Any) -> None:
        if cpu_kernel not in CPU_KERNELS:
            raise UsageError(
                f"FastLSTM: cpu_kernel must be one of {CPU_KERNELS}, got {cpu_kernel!r}"
            )
        super().__init__(units, **kwargs)
        self.cpu_kernel = cpu_kernel

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cpu_kernel": self.cpu_kernel}

    def fast_path_supported(self) -> bool:
        """Whether the fused CPU recurrence can compute exactly what Keras would."""
        return fused_math(self)

    def _gpu_cudnn_wanted(self) -> bool:
        return self.use_cudnn in ("auto", True) and bool(tf.config.list_logical_devices("GPU"))

    def inner_loop(
        self,
        sequences: tf.Tensor,
        initial_state: Sequence[tf.Tensor],
        mask: tf.Tensor | Sequence[tf.Tensor | None] | None,
        training: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        if self._gpu_cudnn_wanted() or not self.fast_path_supported():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        dtype = sequences.dtype
        if training and cell.dropout:
            dp_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * tf.expand_dims(dp_mask, 1)
        kernel = tf.cast(cell.kernel, dtype)
        h0, c0 = (tf.cast(s, dtype) for s in initial_state)
        inference = _inference(training)
        ops = None if self.cpu_kernel == "loop" else fused_ops(dtype, self.cpu_kernel == "fused")
        if ops is not None:
            bias = tf.cast(cell.bias, dtype) if cell.use_bias else None
            args = (
                ops,
                sequences,
                kernel,
                bias,
                tf.cast(cell.recurrent_kernel, dtype),
                h0,
                c0,
                mask,
                self.zero_output_for_mask,
                self.go_backwards,
            )
            if inference:  # outputs [B, 0, H] unless return_sequences: Keras reads `last` then
                ys, last, h, c = fused_lstm_inference(*args, sequences=self.return_sequences)
                return last, ys, [h, c]
            ys, h, c = fused_lstm(*args)
            return ys[:, -1], ys, [h, c]
        x = tf.transpose(sequences, [1, 0, 2])  # time-major
        if mask is not None:
            mask = tf.transpose(tf.cast(mask, dtype), [1, 0])
        if self.go_backwards:
            x = tf.reverse(x, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        steps, batch = tf.shape(x)[0], tf.shape(x)[1]
        xp = tf.reshape(
            tf.matmul(tf.reshape(x, [-1, x.shape[-1]]), kernel), [steps, batch, 4 * cell.units]
        )
        if cell.use_bias:
            xp = xp + tf.cast(cell.bias, dtype)
        ys, h, c = lstm_recurrence(
            xp,
            tf.cast(cell.recurrent_kernel, dtype),
            h0,
            c0,
            mask,
            self.zero_output_for_mask,
            inference=inference,
        )
        outputs = tf.transpose(ys, [1, 0, 2])
        last = ys[-1]
        return last, outputs, [h, c]
