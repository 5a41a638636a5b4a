"""Which models `klo.Predictor` runs step by step: a chain of layers, one input to one output.

`_chain` lists a model's layers with their roles when each reads the previous one's output
("main": an Embedding(mask_zero)'s mask may flow beside it), plus the wide path's NgramBag
layers reading the model's input ("side") and the Concatenate that joins them to the chain
("join"), as `build_model` makes them for `model.wide`. Any other model (a subclassed one,
several inputs or outputs, a branch, a layer used twice) raises `Unsupported` with the
reason, and `Predictor` runs it as one concrete function. `_no_numpy_step` says why a layer
of a chain has no NumPy step, the reason `precision="int8"` refuses the chain.

Example:

    for layer, role in _chain(model):    # role: "main", "side" or "join"
        ...
"""

from __future__ import annotations

from typing import Any

import keras

from keras_lstm_opt.models.predictor_eager import Unsupported
from keras_lstm_opt.models.predictor_numpy import fused_reason


def _embedding_mask(mask: Any, previous: Any, ids: Any) -> bool:
    """Whether a layer's input mask is the one an Embedding(mask_zero) made from `ids`
    (the same tensor, or, in a loaded model, `not_equal(ids, 0)`)."""
    if ids is None:
        return False
    if mask is getattr(previous, "_keras_mask", None):
        return True
    history = getattr(mask, "_keras_history", None)
    if history is None or type(history.operation).__name__ != "NotEqual":
        return False
    args = history.operation._inbound_nodes[history.node_index].arguments
    return (
        len(args.args) == 2
        and args.args[0] is ids
        and isinstance(args.args[1], int)
        and args.args[1] == 0
        and not args.kwargs
    )


def _chain(model: keras.Model) -> list[tuple[Any, str]]:
    """The model's layers in order with their roles, if it is one input -> one output,
    layer after layer ("main"), plus wide-path bags of the input ("side") joined to the
    chain by a Concatenate ("join")."""
    if not isinstance(model, keras.Model) or type(model).__name__ not in (
        "Functional",
        "Sequential",
    ):
        raise Unsupported(f"a {type(model).__name__} model (not Functional or Sequential)")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise Unsupported(f"{len(model.inputs)} inputs and {len(model.outputs)} outputs")
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    previous, ids, sides = model.inputs[0], None, []  # bags not yet joined, in order
    out = []
    for layer in layers:
        kind = type(layer).__name__
        try:
            inbound = layer.input
        except (AttributeError, ValueError) as err:  # a layer used more than once
            raise Unsupported(f"layer {layer.name!r}: {err}") from err
        if kind == "NgramBag" and inbound is model.inputs[0]:
            sides.append(id(layer.output))
            out.append((layer, "side"))
            continue
        if kind == "Concatenate":
            if not (
                isinstance(inbound, (list, tuple))
                and len(inbound) >= 2
                and inbound[0] is previous
                and layer.axis in (-1, 1)
                and [id(t) for t in inbound[1:]] == sides
            ):
                raise Unsupported(f"layer {layer.name!r} joins more than the chain and a wide path")
            previous, sides = layer.output, []
            out.append((layer, "join"))
            continue
        if isinstance(layer, keras.layers.Embedding) and layer.mask_zero:
            ids = previous  # the ids its mask (ids != 0) comes from
        if isinstance(inbound, (list, tuple)):  # [values, mask] where a mask flows
            ok = len(inbound) == 2 and _embedding_mask(inbound[1], previous, ids)
            inbound = inbound[0] if ok else None  # not a mask passed in by hand
        if inbound is not previous:
            raise Unsupported(f"layer {layer.name!r} does not read the previous layer's output")
        previous = layer.output
        out.append((layer, "main"))
    if previous is not model.outputs[0]:
        raise Unsupported("the output is not the last layer's")
    return out


def _no_numpy_step(layer: Any) -> str:
    """Why a layer of an eager chain has no NumPy step (the reason int8 is refused)."""
    from keras_lstm_opt.models.kernels import kernel_status

    name = f"layer {layer.name!r} ({type(layer).__name__})"
    if isinstance(layer, keras.layers.Bidirectional):
        inner = fused_reason(layer.forward_layer) or fused_reason(layer.backward_layer)
        return f"{name}: {inner or f'merge_mode {layer.merge_mode!r}'}"
    if isinstance(layer, keras.layers.LSTM):
        return (
            fused_reason(layer) or f"{name}: the fused kernels are not loaded ({kernel_status()})"
        )
    return f"{name} has no step outside TensorFlow"
