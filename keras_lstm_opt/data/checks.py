"""Value checks on parsed records: the bad data that parses fine but trains wrong.

Run on every parsed batch when `data.validate` is true (the default; a few vectorised
comparisons per batch), and record by record by `find_bad_record` to name the shard
and record at fault:

* class labels outside [0, num_classes) and token ids outside [0, vocab_size), when
  the schema's `info` gives those sizes;
* NaN or Inf in float features (inputs and targets);
* empty input sequences (also what a schema naming a feature the records lack gives);
* sequences longer than `data.max_length` when `data.too_long: error` (the default,
  `truncate`, cuts them instead).

A failed check raises InvalidArgumentError with a message starting "bad record:".

Example:

    checked = checked_batch(tf.io.parse_example(serialized, spec), schema, cfg)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keras_lstm_opt.data.schema import Schema

PREFIX = "bad record:"


def _in_range(flat: Any, n: int, what: str, key: str) -> list[Any]:
    import tensorflow as tf

    return [
        tf.debugging.assert_less(
            flat, tf.constant(n, flat.dtype), f"{PREFIX} {what} outside [0, {n}) (schema {key})"
        ),
        tf.debugging.assert_non_negative(flat, f"{PREFIX} negative {what}"),
    ]


def _checks(ex: dict[str, Any], schema: Schema, max_length: int, too_long: str) -> list[Any]:
    import tensorflow as tf

    info = schema.get("info", {})
    out = []
    for name, feat in schema["features"].items():
        if name not in ex:
            continue
        value = ex[name]
        flat = value.flat_values if isinstance(value, tf.RaggedTensor) else value
        if isinstance(flat, tf.SparseTensor):
            flat = flat.values
        if feat["dtype"] == "float32":
            out.append(
                tf.debugging.assert_all_finite(flat, f"{PREFIX} NaN or Inf in feature {name!r}")
            )
        elif name == schema.get("target") and info.get("num_classes"):
            out += _in_range(
                flat, int(info["num_classes"]), f"label in {name!r}", "info.num_classes"
            )
        elif name == schema.get("inputs") and info.get("vocab_size"):
            out += _in_range(
                flat, int(info["vocab_size"]), f"token id in {name!r}", "info.vocab_size"
            )
        shape = feat["shape"]
        if name == schema.get("inputs") and isinstance(value, tf.RaggedTensor):
            out.append(
                tf.debugging.assert_positive(
                    value.row_lengths(),
                    f"{PREFIX} empty sequence in {name!r} (does schema.json "
                    "name the feature the records hold?)",
                )
            )
        if (
            too_long == "error"
            and max_length
            and shape
            and shape[0] is None
            and isinstance(value, tf.RaggedTensor)
        ):
            inner = 1
            for d in shape[1:]:
                inner *= d
            out.append(
                tf.debugging.assert_less_equal(
                    tf.cast(tf.reduce_max(value.row_lengths()), tf.int64) // inner,
                    tf.constant(max_length, tf.int64),
                    f"{PREFIX} sequence in {name!r} longer than data.max_length={max_length} "
                    "(data.too_long: error; 'truncate' cuts it)",
                )
            )
    return out


def checked_batch(
    ex: dict[str, Any], schema: Schema, max_length: int = 0, too_long: str = "truncate"
) -> dict[str, Any]:
    """`ex` with every check as a control dependency of its tensors."""
    import tensorflow as tf

    checks = _checks(ex, schema, max_length, too_long)
    if not checks:
        return ex
    with tf.control_dependencies(checks):
        return {
            k: tf.identity(v)
            if isinstance(v, tf.Tensor)
            else v.with_flat_values(tf.identity(v.flat_values))
            if isinstance(v, tf.RaggedTensor)
            else v
            for k, v in ex.items()
        }
