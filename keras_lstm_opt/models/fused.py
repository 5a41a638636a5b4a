"""The LSTM recurrence on the compiled CPU kernels (kernels/*.cc).

Batch-major like Keras's inputs, so no transposes: one op runs the input projection
and the whole forward recurrence, and, for the gradient, one op runs the backward
recurrence and returns the weight and bias gradients; only the input gradient
`dz @ W^T` is a TensorFlow matmul (pruned when nothing needs it). Semantics are those
of `keras.layers.LSTM` (gate order i, f, c, o; masked steps keep the state and output
the previous output or zeros; go_backwards outputs in processing order).

For inference, `fused_lstm_inference` runs the inference op (kernels/lstm_infer.cc):
no activations kept for a backward pass, and only the last output when the sequence is
not needed. Should a gradient be asked of it after all (`tf.gradients` on a graph, a
tape around a tf.function traced without one), the gradient registered below reruns the
training forward op and its backward op: slower, but exact.

Example:

    ops = fused_ops(tf.float32, required=False)
    if ops is not None:
        ys, h, c = fused_lstm(ops, x, kernel, bias, recurrent_kernel, h0, c0, mask=None)
        ys, last, h, c = fused_lstm_inference(ops, x, kernel, bias, recurrent_kernel, h0, c0,
                                              sequences=False)   # ys: [B, 0, H]
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import tensorflow as tf

# (outputs [B, T, H], last h [B, H], last c [B, H])
LSTMOutputs = tuple[tf.Tensor, tf.Tensor, tf.Tensor]
# (outputs [B, T, H] or [B, 0, H], last output [B, H], last h [B, H], last c [B, H])
InferenceOutputs = tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
# The gradient function of a tf.custom_gradient: upstream (dys, dh_last, dc_last) -> the
# gradients of the inputs, in their order.
GradFn = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, ...]]


def _in_xla() -> bool:
    from tensorflow.python.ops import control_flow_util

    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


# Compute dtypes the kernels serve: float32, and the mixed-precision policies' float16 and
# bfloat16 (inputs and weights are cast to float32 and the outputs back: float32 accuracy;
# on this CPU TensorFlow's bfloat16 matmul is slower than float32 anyway).
SERVED = ("float32", "float16", "bfloat16")


def fused_ops(dtype: tf.dtypes.DType | str, required: bool) -> ModuleType | None:
    """The compiled kernels when they can run here (see SERVED; not under XLA), else None.

    Raises:
        KernelBuildError: `required` and the kernels cannot run (the reason is named).
    """
    from keras_lstm_opt.models.kernels import KernelBuildError, kernel_status, load_kernels

    name = tf.as_dtype(dtype).name
    why = (
        f"they compute float32, float16 or bfloat16, not {name}"
        if name not in SERVED
        else "XLA cannot compile custom ops"
        if _in_xla()
        else ""
    )
    ops = None if why else load_kernels()
    if required and ops is None:
        raise KernelBuildError(
            "cpu_kernel='fused': the fused LSTM kernels cannot run here: "
            + (why or kernel_status())
            + "; use cpu_kernel='auto'"
        )
    return ops


def fused_lstm(
    ops: ModuleType,
    x: tf.Tensor,
    kernel_w: tf.Tensor,
    bias: tf.Tensor | None,
    kernel_u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    mask: tf.Tensor | None = None,
    zero_output_for_mask: bool = False,
    reverse: bool = False,
) -> LSTMOutputs:
    """Run the LSTM over time on the compiled kernels.

    Args:
        ops: the op module from `fused_ops`.
        x: [B, T, I] inputs.
        kernel_w: [I, 4H] input kernel.
        bias: [4H] or None.
        kernel_u: [H, 4H] recurrent kernel.
        h0, c0: [B, H] initial states.
        mask: optional [B, T] boolean or 0/1 mask.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        reverse: process from the last time step (go_backwards).

    Returns:
        (outputs [B, T, H] in processing order, last h [B, H], last c [B, H]), in x's dtype
        (computed in float32).
    """
    if x.dtype != tf.float32:

        def f32(t: tf.Tensor) -> tf.Tensor:
            return tf.cast(t, tf.float32)

        ys, h, c = fused_lstm(
            ops,
            f32(x),
            f32(kernel_w),
            None if bias is None else f32(bias),
            f32(kernel_u),
            f32(h0),
            f32(c0),
            mask=mask,
            zero_output_for_mask=zero_output_for_mask,
            reverse=reverse,
        )
        return tf.cast(ys, x.dtype), tf.cast(h, x.dtype), tf.cast(c, x.dtype)
    m = tf.zeros([0], tf.float32) if mask is None else tf.cast(mask, tf.float32)
    attrs = {"zero_output_for_mask": zero_output_for_mask, "reverse": reverse}

    def forward(
        x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor
    ) -> tuple[LSTMOutputs, GradFn]:
        ys, h_last, c_last, acts, h_prev, c_prev, c_tanh = ops.klo_lstm_forward(
            x, w, b, kernel_u, h0, c0, m, **attrs
        )

        def grad(
            dys: tf.Tensor, dh_last: tf.Tensor, dc_last: tf.Tensor
        ) -> tuple[tf.Tensor, ...]:  # (dx, dw, db, du, dh0, dc0)
            dz, dh0, dc0, db, dw, du = ops.klo_lstm_backward(
                x, kernel_u, acts, h_prev, c_prev, c_tanh, m, dys, dh_last, dc_last, **attrs
            )
            dx = tf.reshape(
                tf.matmul(tf.reshape(dz, [-1, tf.shape(dz)[-1]]), w, transpose_b=True), tf.shape(x)
            )
            return dx, dw, db, du, dh0, dc0

        return (ys, h_last, c_last), grad

    if bias is None:  # an empty bias tensor tells the ops; it gets no gradient

        @tf.custom_gradient
        def run(
            x: tf.Tensor, w: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor
        ) -> tuple[LSTMOutputs, GradFn]:
            out, grad = forward(x, w, tf.zeros([0], tf.float32), kernel_u, h0, c0)

            def grad_without_bias(
                dys: tf.Tensor, dh_last: tf.Tensor, dc_last: tf.Tensor
            ) -> tuple[tf.Tensor, ...]:
                dx, dw, _, du, dh0, dc0 = grad(dys, dh_last, dc_last)
                return dx, dw, du, dh0, dc0

            return out, grad_without_bias

        return run(x, kernel_w, kernel_u, h0, c0)

    @tf.custom_gradient
    def run_b(
        x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor
    ) -> tuple[LSTMOutputs, GradFn]:
        return forward(x, w, b, kernel_u, h0, c0)

    return run_b(x, kernel_w, bias, kernel_u, h0, c0)


def fused_lstm_inference(
    ops: ModuleType,
    x: tf.Tensor,
    kernel_w: tf.Tensor,
    bias: tf.Tensor | None,
    kernel_u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    mask: tf.Tensor | None = None,
    zero_output_for_mask: bool = False,
    reverse: bool = False,
    sequences: bool = True,
) -> InferenceOutputs:
    """Run the LSTM forward only, keeping nothing for a backward pass.

    Args: those of `fused_lstm`, and
        sequences: return every step's output; else the first result is [B, 0, H] and
            only the last output is computed into memory.

    Returns:
        (outputs [B, T, H] (or [B, 0, H]), last output [B, H], last h [B, H],
        last c [B, H]), in x's dtype (computed in float32).
    """
    dtype = x.dtype

    def f32(t: tf.Tensor) -> tf.Tensor:
        return t if t.dtype == tf.float32 else tf.cast(t, tf.float32)

    out = ops.klo_lstm_infer(
        f32(x),
        f32(kernel_w),
        tf.zeros([0], tf.float32) if bias is None else f32(bias),
        f32(kernel_u),
        f32(h0),
        f32(c0),
        tf.zeros([0], tf.float32) if mask is None else tf.cast(mask, tf.float32),
        zero_output_for_mask=zero_output_for_mask,
        reverse=reverse,
        sequences=sequences,
    )
    ys, last, h, c = (o if dtype == tf.float32 else tf.cast(o, dtype) for o in out)
    return ys, last, h, c


@tf.RegisterGradient("KloLstmInfer")
def _inference_gradient(
    op: tf.Operation,
    dys: tf.Tensor | None,
    dy_last: tf.Tensor | None,
    dh_last: tf.Tensor | None,
    dc_last: tf.Tensor | None,
) -> list[tf.Tensor | None]:
    """Rerun the forward op keeping its activations, then the backward op."""
    from keras_lstm_opt.models.kernels import KernelBuildError, kernel_status, load_kernels

    ops = load_kernels()
    if ops is None:  # cannot happen: the op ran, so its library is loaded
        raise KernelBuildError("the gradient of KloLstmInfer needs the kernels: " + kernel_status())
    x, w, bias, u, h0, c0, mask = op.inputs
    attrs = {k: op.get_attr(k) for k in ("zero_output_for_mask", "reverse")}
    ys, _, _, acts, h_prev, c_prev, c_tanh = ops.klo_lstm_forward(
        x, w, bias, u, h0, c0, mask, **attrs
    )
    full = tf.zeros_like(ys) if dys is None or not op.get_attr("sequences") else dys
    if dy_last is not None:  # the last output is the output at the last position
        steps = tf.shape(ys)[1]
        full += dy_last[:, None, :] * tf.one_hot(steps - 1, steps)[None, :, None]
    dz, dh0, dc0, db, dw, du = ops.klo_lstm_backward(
        x,
        u,
        acts,
        h_prev,
        c_prev,
        c_tanh,
        mask,
        full,
        tf.zeros_like(h0) if dh_last is None else dh_last,
        tf.zeros_like(c0) if dc_last is None else dc_last,
        **attrs,
    )
    dx = tf.reshape(
        tf.matmul(tf.reshape(dz, [-1, tf.shape(dz)[-1]]), w, transpose_b=True), tf.shape(x)
    )
    return [dx, dw, db[: tf.size(bias)], du, dh0, dc0, None]  # an empty bias: an empty gradient
