"""A fused LSTM recurrence for the CPU with a hand-written gradient.

Keras's CPU LSTM differentiates a `tf.while_loop` of the cell: per time step the
backward pass runs three small matmuls (input, recurrent and their weight gradients)
and many small ops. Here the input projection of all time steps is one large matmul
done outside (by the caller), the forward loop runs one small matmul per step, and
the backward loop runs one small matmul per step (`dz @ U^T`); the recurrent weight
gradient is a single large matmul over all steps after the loop.

Semantics match `keras.layers.LSTM` (gate order i, f, c, o; Keras masking: a masked
step keeps the previous state, and outputs either the previous output or zeros; before
the first unmasked step the previous output is zeros, whatever the initial state).

With `inference=True` the loop keeps no states or activations for a backward pass (and
has no custom gradient: TensorFlow can still differentiate it, should anyone ask).

Example:

    hs, h, c = lstm_recurrence(xp, recurrent_kernel, h0, c0, mask=None)
"""

from __future__ import annotations

import tensorflow as tf

from keras_lstm_opt.models.fused import GradFn, LSTMOutputs


def _gates(
    z: tf.Tensor, units: tf.Tensor | int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    s = tf.sigmoid(z)
    i, f, o = s[:, :units], s[:, units : 2 * units], s[:, 3 * units :]
    g = tf.tanh(z[:, 2 * units : 3 * units])
    return i, f, g, o


def lstm_recurrence(
    xp: tf.Tensor,
    kernel_u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    mask: tf.Tensor | None = None,
    zero_output_for_mask: bool = False,
    inference: bool = False,
) -> LSTMOutputs:
    """Run the LSTM over time.

    Args:
        xp: [T, B, 4H] time-major input projections (x @ W + b).
        kernel_u: [H, 4H] recurrent kernel.
        h0, c0: [B, H] initial states.
        mask: optional [T, B] boolean or 0/1 mask (time-major).
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        inference: keep nothing for a gradient (see the module docstring).

    Returns:
        (outputs [T, B, H], last h [B, H], last c [B, H]).
    """
    m = None if mask is None else tf.cast(tf.expand_dims(mask, -1), xp.dtype)
    # seen[t]: an unmasked step came before t (else a masked step's previous output is 0)
    seen = None if m is None else tf.cast(tf.cumsum(m, axis=0, exclusive=True) > 0, xp.dtype)
    if inference:
        return _forward(xp, kernel_u, h0, c0, m, seen, zero_output_for_mask)
    return _run(xp, kernel_u, h0, c0, m, seen, zero_output_for_mask)


def _step(
    z: tf.Tensor,
    h: tf.Tensor,
    c: tf.Tensor,
    mt: tf.Tensor | None,
    st: tf.Tensor | None,
    zero_out: bool,
    units: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """(y, new h, new c, the gates i|f|g|o) of one step from z = x W + b + h U."""
    i, f, g, o = _gates(z, units)
    c_new = f * c + i * g
    h_new = o * tf.tanh(c_new)
    if mt is not None and st is not None:
        y = mt * h_new if zero_out else mt * h_new + (1 - mt) * st * h
        c_new = mt * c_new + (1 - mt) * c
        h_new = mt * h_new + (1 - mt) * h
    else:
        y = h_new
    return y, h_new, c_new, tf.concat([i, f, g, o], 1)


def _forward(
    xp: tf.Tensor,
    kernel_u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    m: tf.Tensor | None,
    seen: tf.Tensor | None,
    zero_out: bool,
) -> LSTMOutputs:
    steps, units = tf.shape(xp)[0], tf.shape(h0)[1]

    def body(
        t: tf.Tensor, h: tf.Tensor, c: tf.Tensor, ys: tf.TensorArray
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray]:
        y, h, c, _ = _step(
            xp[t] + tf.matmul(h, kernel_u),
            h,
            c,
            None if m is None else m[t],
            None if seen is None else seen[t],
            zero_out,
            units,
        )
        return t + 1, h, c, ys.write(t, y)

    _, h, c, ys = tf.while_loop(
        lambda t, *_: t < steps, body, (0, h0, c0, tf.TensorArray(xp.dtype, size=steps))
    )
    return ys.stack(), h, c


def _run(
    xp: tf.Tensor,
    kernel_u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    m: tf.Tensor | None,
    seen: tf.Tensor | None,
    zero_out: bool,
) -> LSTMOutputs:

    @tf.custom_gradient
    def run(
        xp: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor
    ) -> tuple[LSTMOutputs, GradFn]:
        steps = tf.shape(xp)[0]
        units = tf.shape(h0)[1]

        def body(
            t: tf.Tensor,
            h: tf.Tensor,
            c: tf.Tensor,
            ys: tf.TensorArray,
            states: tf.TensorArray,
            acts: tf.TensorArray,
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray, tf.TensorArray, tf.TensorArray]:
            y, h_new, c_new, gates = _step(
                xp[t] + tf.matmul(h, kernel_u),
                h,
                c,
                None if m is None else m[t],
                None if seen is None else seen[t],
                zero_out,
                units,
            )
            return (
                t + 1,
                h_new,
                c_new,
                ys.write(t, y),
                states.write(t, tf.stack([h, c])),
                acts.write(t, gates),
            )

        def ta() -> tf.TensorArray:
            return tf.TensorArray(xp.dtype, size=steps)

        _, h_last, c_last, ys, states, acts = tf.while_loop(
            lambda t, *_: t < steps, body, (0, h0, c0, ta(), ta(), ta())
        )
        ys, prev, acts = ys.stack(), states.stack(), acts.stack()  # prev: [T, 2, B, H]

        def grad(
            dys: tf.Tensor, dh_last: tf.Tensor, dc_last: tf.Tensor
        ) -> tuple[tf.Tensor, ...]:  # (dxp, du, dh0, dc0)
            u_t = tf.transpose(kernel_u)

            def bbody(
                t: tf.Tensor, dh: tf.Tensor, dc: tf.Tensor, dzs: tf.TensorArray
            ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray]:
                i, f, g, o = tf.split(acts[t], 4, axis=1)
                c_prev = prev[t, 1]
                c_new = f * c_prev + i * g
                tc = tf.tanh(c_new)
                if m is not None and seen is not None:
                    mt = m[t]
                    dh_new = mt * (dh + dys[t])
                    # a masked step's output is the state h (zeros if zero_out or not seen)
                    carry_h = (1 - mt) * (dh if zero_out else dh + seen[t] * dys[t])
                    dc_new, carry_c = mt * dc, (1 - mt) * dc
                else:
                    dh_new, dc_new = dh + dys[t], dc
                    carry_h = carry_c = None
                dc_cell = dc_new + dh_new * o * (1 - tc * tc)
                dz = tf.concat(
                    [
                        dc_cell * g * i * (1 - i),
                        dc_cell * c_prev * f * (1 - f),
                        dc_cell * i * (1 - g * g),
                        dh_new * tc * o * (1 - o),
                    ],
                    1,
                )
                dh_prev = tf.matmul(dz, u_t)
                dc_prev = dc_cell * f
                if m is not None:
                    dh_prev, dc_prev = dh_prev + carry_h, dc_prev + carry_c
                return t - 1, dh_prev, dc_prev, dzs.write(t, dz)

            _, dh0, dc0, dzs = tf.while_loop(
                lambda t, *_: t >= 0, bbody, (steps - 1, dh_last, dc_last, ta())
            )
            dz_all = dzs.stack()  # [T, B, 4H]
            h_prev = tf.reshape(prev[:, 0], [-1, units])
            du = tf.matmul(h_prev, tf.reshape(dz_all, [-1, 4 * units]), transpose_a=True)
            return dz_all, du, dh0, dc0

        return (ys, h_last, c_last), grad

    return run(xp, kernel_u, h0, c0)
