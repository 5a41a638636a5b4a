"""A fused LSTM recurrence for the CPU with a hand-written gradient.

Keras's CPU LSTM differentiates a `tf.while_loop` of the cell: per time step the
backward pass runs three small matmuls (input, recurrent and their weight gradients)
and many small ops. Here the input projection of all time steps is one large matmul
done outside (by the caller), the forward loop runs one small matmul per step, and
the backward loop runs one small matmul per step (`dz @ U^T`); the recurrent weight
gradient is a single large matmul over all steps after the loop.

Semantics match `keras.layers.LSTM` (gate order i, f, c, o; Keras masking: a masked
step keeps the previous state, and outputs either the previous output or zeros).

Example:

    hs, h, c = lstm_recurrence(xp, recurrent_kernel, h0, c0, mask=None)
"""

from __future__ import annotations

import tensorflow as tf

from keras_lstm_opt.models.fused import GradFn, LSTMOutputs


def _gates(z: tf.Tensor, units: tf.Tensor | int
           ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    s = tf.sigmoid(z)
    i, f, o = s[:, :units], s[:, units:2 * units], s[:, 3 * units:]
    g = tf.tanh(z[:, 2 * units:3 * units])
    return i, f, g, o


def lstm_recurrence(xp: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor,
                    mask: tf.Tensor | None = None, zero_output_for_mask: bool = False
                    ) -> LSTMOutputs:
    """Run the LSTM over time.

    Args:
        xp: [T, B, 4H] time-major input projections (x @ W + b).
        kernel_u: [H, 4H] recurrent kernel.
        h0, c0: [B, H] initial states.
        mask: optional [T, B] boolean or 0/1 mask (time-major).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Returns:
        (outputs [T, B, H], last h [B, H], last c [B, H]).
    """
    m = None if mask is None else tf.cast(tf.expand_dims(mask, -1), xp.dtype)
    return _run(xp, kernel_u, h0, c0, m, zero_output_for_mask)


def _run(xp: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor,
         m: tf.Tensor | None, zero_out: bool) -> LSTMOutputs:

    @tf.custom_gradient
    def run(xp: tf.Tensor, kernel_u: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor
            ) -> tuple[LSTMOutputs, GradFn]:
        steps = tf.shape(xp)[0]
        units = tf.shape(h0)[1]

        def body(t: tf.Tensor, h: tf.Tensor, c: tf.Tensor, ys: tf.TensorArray,
                 states: tf.TensorArray, acts: tf.TensorArray
                 ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray, tf.TensorArray,
                            tf.TensorArray]:
            z = xp[t] + tf.matmul(h, kernel_u)
            i, f, g, o = _gates(z, units)
            c_new = f * c + i * g
            h_new = o * tf.tanh(c_new)
            if m is not None:
                mt = m[t]
                y = mt * h_new if zero_out else mt * h_new + (1 - mt) * h
                c_new = mt * c_new + (1 - mt) * c
                h_new = mt * h_new + (1 - mt) * h
            else:
                y = h_new
            return (t + 1, h_new, c_new, ys.write(t, y), states.write(t, tf.stack([h, c])),
                    acts.write(t, tf.concat([i, f, g, o], 1)))

        def ta() -> tf.TensorArray:
            return tf.TensorArray(xp.dtype, size=steps)

        _, h_last, c_last, ys, states, acts = tf.while_loop(
            lambda t, *_: t < steps, body, (0, h0, c0, ta(), ta(), ta()))
        ys, prev, acts = ys.stack(), states.stack(), acts.stack()  # prev: [T, 2, B, H]

        def grad(dys: tf.Tensor, dh_last: tf.Tensor, dc_last: tf.Tensor
                 ) -> tuple[tf.Tensor, ...]:  # (dxp, du, dh0, dc0)
            u_t = tf.transpose(kernel_u)

            def bbody(t: tf.Tensor, dh: tf.Tensor, dc: tf.Tensor, dzs: tf.TensorArray
                      ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray]:
                i, f, g, o = tf.split(acts[t], 4, axis=1)
                c_prev = prev[t, 1]
                c_new = f * c_prev + i * g
                tc = tf.tanh(c_new)
                if m is not None:
                    mt = m[t]
                    if zero_out:
                        dh_new = mt * (dh + dys[t])
                        carry_h = (1 - mt) * dh
                    else:
                        dh_all = dh + dys[t]
                        dh_new, carry_h = mt * dh_all, (1 - mt) * dh_all
                    dc_new, carry_c = mt * dc, (1 - mt) * dc
                else:
                    dh_new, dc_new = dh + dys[t], dc
                    carry_h = carry_c = None
                dc_cell = dc_new + dh_new * o * (1 - tc * tc)
                dz = tf.concat([dc_cell * g * i * (1 - i), dc_cell * c_prev * f * (1 - f),
                                dc_cell * i * (1 - g * g), dh_new * tc * o * (1 - o)], 1)
                dh_prev = tf.matmul(dz, u_t)
                dc_prev = dc_cell * f
                if m is not None:
                    dh_prev, dc_prev = dh_prev + carry_h, dc_prev + carry_c
                return t - 1, dh_prev, dc_prev, dzs.write(t, dz)

            _, dh0, dc0, dzs = tf.while_loop(lambda t, *_: t >= 0, bbody,
                                             (steps - 1, dh_last, dc_last, ta()))
            dz_all = dzs.stack()  # [T, B, 4H]
            h_prev = tf.reshape(prev[:, 0], [-1, units])
            du = tf.matmul(h_prev, tf.reshape(dz_all, [-1, 4 * units]), transpose_a=True)
            return dz_all, du, dh0, dc0

        return (ys, h_last, c_last), grad

    return run(xp, kernel_u, h0, c0)
