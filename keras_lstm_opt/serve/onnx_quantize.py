"""Int8 ONNX export: ONNX Runtime's own dynamic quantisation of the exported model.

`export --format onnx --quantize int8` converts the run as usual, then hands the model
to `onnxruntime.quantization.quantize_dynamic` (the tool ONNX Runtime maintains, so the
model runs on its int8 kernels): weights int8 per output channel (7 bits of range, so
that CPUs without VNNI do not saturate), activations quantised at run time (an unmasked
LSTM becomes DynamicQuantizeLSTM, a matrix product DynamicQuantizeMatMul or
MatMulInteger; inside a masked LSTM's Loop too). The int8 model's outputs are compared
with model.keras's like any export; a graph in which the quantiser finds nothing to
quantise is refused, with what it holds.

Example:

    quantize_onnx("export/model.onnx")   # {"quantized_nodes": {"DynamicQuantizeLSTM": 2}}
"""

from __future__ import annotations

import collections
import logging
import os
import tempfile
from typing import Any

from keras_lstm_opt.errors import UsageError

QUANTIZED_OPS = ("DynamicQuantizeLSTM", "DynamicQuantizeMatMul", "MatMulInteger")


def _op_counts(graph: Any, counts: collections.Counter[str]) -> None:
    """Node types of a graph and of its subgraphs (a Loop's body)."""
    for node in graph.node:
        counts[node.op_type] += 1
        for attr in node.attribute:
            if attr.g is not None and attr.g.node:
                _op_counts(attr.g, counts)


def quantize_onnx(path: str) -> dict[str, Any]:
    """Replace the float32 ONNX model at `path` by its int8 dynamic quantisation.

    Returns:
        {"quantize": "int8", "quantizer": ..., "quantized_nodes": {op: count}} for
        export.json.

    Raises:
        UsageError: nothing in the graph could be quantised (the reason says what it holds).
    """
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as tmp:
        out = os.path.join(tmp, "int8.onnx")
        logging.disable(logging.WARNING)  # its "consider pre-processing" advice: for static
        try:  # quantisation of image models, not this
            quantize_dynamic(
                path,
                out,
                weight_type=QuantType.QInt8,
                per_channel=True,
                # 7-bit weights: on x86 CPUs without VNNI (AVX2 only) ORT's u8 x s8 products
                # saturate (its docs' advice; a text model's probabilities were off by 1.0)
                reduce_range=True,
                extra_options={"EnableSubgraph": True},  # a masked LSTM's Loop body
            )
        finally:
            logging.disable(logging.NOTSET)
        counts: collections.Counter[str] = collections.Counter()
        _op_counts(onnx.load(out).graph, counts)
        quantized = {op: counts[op] for op in QUANTIZED_OPS if counts[op]}
        if not quantized:
            held: collections.Counter[str] = collections.Counter()
            _op_counts(onnx.load(path).graph, held)
            kinds = ", ".join(f"{op} x{n}" for op, n in held.most_common(8))
            raise UsageError(
                "export --quantize int8: ONNX Runtime's quantiser found no LSTM or matrix "
                f"product to quantise in this model (it holds {kinds}); export it without "
                "--quantize"
            )
        os.replace(out, path)
    return {
        "quantize": "int8",
        "quantizer": f"onnxruntime {onnxruntime.__version__} quantize_dynamic "
        "(int8 weights per output channel, 7-bit range; activations quantised at run time)",
        "quantized_nodes": quantized,
    }
