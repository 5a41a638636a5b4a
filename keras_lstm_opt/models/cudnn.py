"""Will this LSTM layer run on the cuDNN kernel on a GPU? If not, exactly why.

The rules mirror Keras 3's TensorFlow backend (`keras.layers.LSTM.inner_loop` and
`keras/src/backend/tensorflow/rnn.py`): Keras tries cuDNN only when `use_cudnn` is
"auto" or True and `recurrent_dropout` is 0, and the backend accepts the layer only
with activation tanh, recurrent_activation sigmoid, `unroll=False` and `use_bias=True`.
A bfloat16 compute dtype is a miss when the installed TensorFlow's CudnnRNNV3 op does
not accept bfloat16 (older releases); where it does (TF 2.21), it is a note, since the
kernel then also needs a GPU and cuDNN build with bfloat16 RNNs. At run time a mask
must be right-padded with no fully masked row (`mask_reasons` checks a concrete mask
the way Keras does).

Example:

    for verdict in cudnn_report(model):
        print(verdict.layer, verdict.eligible, verdict.reasons)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from keras_lstm_opt.errors import CudnnError

if TYPE_CHECKING:  # Keras is imported where it is used (importing this module stays fast)
    import keras


@dataclass
class CudnnVerdict:
    layer: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name(fn: object) -> str:
    return getattr(fn, "__name__", str(fn))


def lstm_reasons(layer: keras.layers.LSTM) -> list[str]:
    """Every reason a `keras.layers.LSTM` layer would not use cuDNN (empty = eligible)."""
    from keras import activations, ops

    reasons = []
    if layer.use_cudnn is False:
        reasons.append("use_cudnn=False turns the cuDNN path off; use 'auto'")
    if layer.cell.recurrent_dropout:
        reasons.append(
            f"recurrent_dropout={layer.cell.recurrent_dropout} (must be 0; use "
            "dropout= on the inputs or a Dropout layer between LSTMs instead)"
        )
    if (
        layer.cell.activation not in (activations.tanh, ops.tanh)
        and _name(layer.cell.activation) != "tanh"
    ):
        reasons.append(f"activation={_name(layer.cell.activation)} (must be tanh)")
    if (
        layer.cell.recurrent_activation not in (activations.sigmoid, ops.sigmoid)
        and _name(layer.cell.recurrent_activation) != "sigmoid"
    ):
        reasons.append(
            f"recurrent_activation={_name(layer.cell.recurrent_activation)} (must be sigmoid)"
        )
    if layer.unroll:
        reasons.append("unroll=True (must be False)")
    if not layer.cell.use_bias:
        reasons.append("use_bias=False (must be True)")
    if layer.dtype_policy.compute_dtype == "bfloat16" and not cudnn_op_takes_bfloat16():
        reasons.append(
            "compute dtype bfloat16 (this TensorFlow's CudnnRNNV3 op has no "
            "bfloat16 kernel; use mixed_float16 or float32)"
        )
    return reasons


def cudnn_op_takes_bfloat16() -> bool:
    """Whether the installed TensorFlow's CudnnRNNV3 op accepts bfloat16 inputs."""
    from tensorflow.python.framework import dtypes, op_def_registry

    op = op_def_registry.get("CudnnRNNV3")
    if op is None:
        return False
    allowed = next(a.allowed_values.list.type for a in op.attr if a.name == "T")
    return dtypes.bfloat16.as_datatype_enum in allowed


def _notes(layer: keras.layers.LSTM, masked: bool) -> list[str]:
    notes = []
    if masked:
        notes.append(
            "masked input: cuDNN needs right-padded masks with no fully masked "
            "row (keras-lstm-opt's pipeline pads on the right)"
        )
    if layer.dtype_policy.compute_dtype == "bfloat16" and cudnn_op_takes_bfloat16():
        notes.append(
            "bfloat16: runs on cuDNN only on GPUs and cuDNN builds with bfloat16 "
            "RNNs (Ampere or newer); elsewhere Keras falls back silently"
        )
    return notes


def _lstm_layers(model: keras.Model) -> list[tuple[str, keras.layers.LSTM]]:
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            out.append((f"{layer.name}/forward", layer.forward_layer))
            out.append((f"{layer.name}/backward", layer.backward_layer))
        elif isinstance(layer, keras.layers.LSTM):
            out.append((layer.name, layer))
        elif isinstance(layer, keras.Model):
            out += [(f"{layer.name}/{n}", sub) for n, sub in _lstm_layers(layer)]
    return out


def _takes_mask(model: keras.Model) -> bool:
    return any(
        getattr(layer, "mask_zero", False) or layer.__class__.__name__ == "Masking"
        for layer in model.layers
    )


class CudnnReport(list[CudnnVerdict]):
    """A list of CudnnVerdict that prints as a table (`print(cudnn_report(model))`)."""

    def __str__(self) -> str:
        return format_report(self)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self]


def cudnn_report(model: keras.Model) -> CudnnReport:
    """One verdict per LSTM layer of `model` (Bidirectional wrappers count twice); prints
    as a table.

    Example:

        print(cudnn_report(model))   # layer / cuDNN / reasons
    """
    masked = _takes_mask(model)
    verdicts = []
    for name, layer in _lstm_layers(model):
        reasons = lstm_reasons(layer)
        verdicts.append(CudnnVerdict(name, not reasons, reasons, _notes(layer, masked)))
    return CudnnReport(verdicts)


def mask_reasons(mask: npt.ArrayLike) -> list[str]:
    """Reasons a concrete [batch, time] mask would make Keras leave cuDNN (or fail)."""
    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        return [f"mask must be [batch, time], got shape {m.shape}"]
    reasons = []
    counts = m.sum(axis=1)
    right = np.arange(m.shape[1])[None, :] < counts[:, None]
    bad = np.flatnonzero((m != right).any(axis=1))
    if bad.size:
        reasons.append(
            f"rows {bad[:5].tolist()} are not right-padded (True values must "
            "come first, then only False)"
        )
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        reasons.append(f"rows {empty[:5].tolist()} are fully masked")
    return reasons


def require_cudnn(model: keras.Model) -> None:
    """Raise CudnnError listing every layer that would miss cuDNN, and why."""
    misses = [v for v in cudnn_report(model) if not v.eligible]
    if misses:
        lines = [f"  - {v.layer}: {'; '.join(v.reasons)}" for v in misses]
        raise CudnnError(
            "model.require_cudnn is true, but these LSTM layers would not run "
            "on the cuDNN kernel:\n" + "\n".join(lines)
        )


def format_report(verdicts: list[CudnnVerdict]) -> str:
    """A plain-text table of verdicts for the terminal."""
    if not verdicts:
        return "no LSTM layers found"
    width = max(len(v.layer) for v in verdicts)
    lines = [f"{'layer':<{width}}  cuDNN  reasons", f"{'-' * width}  -----  -------"]
    for v in verdicts:
        why = "; ".join(v.reasons) or "-"
        lines.append(f"{v.layer:<{width}}  {'yes' if v.eligible else 'NO':<5}  {why}")
        lines += [f"{'':<{width}}         note: {n}" for n in v.notes]
    return "\n".join(lines)
