"""ONNX export of a run through tf2onnx, checked with ONNX Runtime (the `onnx` extra).

The graph converted is the SavedModel's numeric one (`serving.numeric_function`): token
ids int64 [batch, time] (0 = padding) or raw windows float32 [batch, W + lag, C] in
(standard ONNX has no string ops: `tokenize_usage` tells a client how to make the ids,
for every split, "words+chars" included);
`probabilities` and `class_id`, or `forecast` [batch, H, T] in the series' units, out.
A masked (padded) LSTM becomes an ONNX Loop; the opset is the newest tf2onnx knows.

Example:

    info = write_onnx(serving, "export/model.onnx")   # {"opset": 18, ...}
    check_onnx(serving, "export/model.onnx")          # {"onnx": 0.0}
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import TYPE_CHECKING, Any

from keras_lstm_opt.extras import need

if TYPE_CHECKING:
    from keras_lstm_opt.serve.serving import Serving


def require_onnx() -> None:
    """Raise a MissingPackageError (one line: what to pip install) if tf2onnx or
    onnxruntime is missing."""
    for module in ("tf2onnx", "onnxruntime"):
        need(module, "export --format onnx", "onnx")


def newest_opset() -> int:
    """The newest ONNX opset the installed tf2onnx converts to."""
    from tf2onnx import constants

    return max(int(k) for k in constants.OPSET_TO_IR_VERSION)


def _patch_tf2onnx_for_numpy2() -> None:
    """tf2onnx 1.17 still calls NumPy 1 names (np.cast, np.object) in some graph passes;
    Keras ships the fix it uses for its own ONNX export."""
    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:  # a Keras without it: tf2onnx works without the patch for LSTMs
        return
    with warnings.catch_warnings():  # its `hasattr(np, "object")` warns under NumPy 2
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()


def _shape(value_info: Any) -> list[int | None]:
    return [
        d.dim_value if d.HasField("dim_value") else None
        for d in value_info.type.tensor_type.shape.dim
    ]


def write_onnx(serving: Serving, path: str) -> dict[str, Any]:
    """Convert `serving`'s numeric function to ONNX at `path`.

    Returns:
        {"opset", "converter", "signature": {"inputs", "outputs"}} for export.json.
    """
    import onnx
    import tf2onnx

    from keras_lstm_opt.serve.serving import numeric_function

    _patch_tf2onnx_for_numpy2()
    fn = numeric_function(serving)
    opset = newest_opset()
    # tf2onnx's progress lines, and TensorFlow's "Issue encountered when serializing
    # table_initializer" (harmless: a lookup table made earlier in this process)
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        proto, _ = tf2onnx.convert.from_function(
            fn, input_signature=fn.input_signature, opset=opset, output_path=path
        )
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)

    def describe(values: Any) -> dict[str, Any]:
        return {
            v.name: {
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                "shape": _shape(v),
            }
            for v in values
        }

    return {
        "opset": opset,
        "converter": f"tf2onnx {tf2onnx.__version__}",
        "signature": {
            "inputs": describe(proto.graph.input),
            "outputs": describe(proto.graph.output),
        },
    }


def check_onnx(serving: Serving, path: str) -> dict[str, float]:
    """Run the ONNX model on a few inputs; return {"onnx": largest difference from
    model.keras} (see `serving.max_difference`)."""
    import onnxruntime as ort

    from keras_lstm_opt.serve.serving import max_difference, sample_inputs

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    samples = sample_inputs(serving)
    arrays = [samples[name] for name in serving.inputs]
    got = session.run(None, dict(zip(serving.inputs, arrays, strict=True)))
    want = serving.expected(arrays)
    want.pop("label", None)
    names = [o.name for o in session.get_outputs()]
    return {"onnx": max_difference(dict(zip(names, got, strict=True)), want)}


def onnx_usage(serving: Serving, signature: dict[str, Any]) -> dict[str, Any]:
    """How to call the ONNX model (for export.json)."""
    inputs = ", ".join(f"'{name}': {name}" for name in signature["inputs"])
    outputs = "[" + ", ".join(signature["outputs"]) + "]"
    feed = {
        "text": "token ids int64 [batch, time], zero-padded on the right, made as "
        "export.json's `tokens` says (vocabulary.json: id i is token i)",
        "forecast": "raw windows float32 [batch, window + lag, columns], oldest first",
        "model": "the model's inputs",
    }[serving.kind]
    usage = {
        "onnxruntime": "import onnxruntime as ort\n"
        "session = ort.InferenceSession('model.onnx')\n"
        f"{outputs} = session.run(None, {{{inputs}}})",
        "inputs": feed,
    }
    if serving.raw_text:
        usage["tokenize"] = tokenize_usage(serving.info)
    return usage


def tokenize_usage(info: dict[str, Any]) -> str:
    """How an ONNX client turns text into the ids (standard ONNX has no string ops, so
    the tokenizer stays outside the model; the SavedModel has it inside)."""
    from keras_lstm_opt.data.text import (
        CAPITAL_PATTERN,
        CASE_MARK,
        MARKS,
        PUNCTUATION_PATTERN,
        SPLIT_PATTERN,
        SPLITS,
        WORDS_CHARS,
    )

    text = info.get("text") or {}
    split = SPLITS.get(str(text.get("split", "whitespace")), "whitespace")
    # Python's `regex` package takes the same pattern with \uXXXX for RE2's \x{XXXX}
    python = re.sub(r"\\x\{([0-9A-Fa-f]{4})\}", r"\\u\1", SPLIT_PATTERN)
    how = {
        "whitespace": "split on whitespace",
        "character": "split into characters (Unicode code points)",
        WORDS_CHARS: f"replace every match of the RE2 pattern {SPLIT_PATTERN} by "
        "' \\1 ' (space, group 1, space: each character of a script "
        "written without spaces, with its combining marks, becomes a "
        "word; in Python, with the `regex` package: the pattern "
        f"{python}), then split on whitespace",
    }
    standardize = (
        "lower-case ASCII letters, remove ASCII punctuation !\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~', "
    )
    if text.get("standardize") == MARKS:
        standardize = (
            f"replace every match of the RE2 pattern {PUNCTUATION_PATTERN} by "
            f"' \\1 ', then every match of {CAPITAL_PATTERN} by "
            f"'\\1{CASE_MARK} \\2' ({CASE_MARK} is U+21E7), then lower-case "
            "every letter (Unicode), "
        )
    pieces = int(text.get("pieces") or 0)
    written = ""
    if pieces:
        from keras_lstm_opt.data.pieces import pieces_of

        example = ", ".join(f"'{p}'" for p in pieces_of("любовью", pieces))
        written = (
            f"; a token absent from vocabulary.json is written as its pieces of {pieces} "
            f"characters (code points), the first with '#' appended, the others with '#' "
            f"prepended ('любовью' -> {example})"
        )
    return (
        standardize + how[split] + written + "; a token's id is "
        "its index in vocabulary.json (1 when absent); keep the first "
        f"{int(text.get('max_length') or 200)} ids (a text without any: [1]), pad "
        "with 0 on the right"
    )
