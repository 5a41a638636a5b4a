"""export_run: SavedModel and ONNX exports give model.keras's outputs within 1e-5 for
every config in configs/ and for imported text data sets (WordNet glosses; English,
Japanese and Chinese sentences, split "words+chars": raw strings in) and an imported
series (Mauna Loa CO2, raw windows in, original units out); the SavedModels are called
in a process that cannot import keras_lstm_opt. An imported text set gets the model
`train` builds for it (`train.auto`: the wide path with its subword bag).

Models have random weights (no training): an export must reproduce any weights. Configs
that build the same model (default, multiworker and tuning all build one 64-unit LSTM
on the embedded text task) share one export; one subprocess loads every SavedModel
(export_cases.py builds and exports them).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from ..conftest import time_limit
from .export_cases import CONFIGS, Case, exported  # noqa: F401  (exported: the fixture)

# isort: split
# tests/unit/test_predictor.py and test_int8.py import these two from here
from .export_cases import _embedded_schema, _token_batch  # noqa: F401

IMPORTED = ["imported-text", "imported-mixed", "imported-series", "imported-log", "own-model"]
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def cases(exported: tuple[dict[str, Case], dict[str, Any]]) -> dict[str, Case]:  # noqa: F811
    return exported[0]


@pytest.fixture(scope="module")
def served(exported: tuple[dict[str, Case], dict[str, Any]]) -> dict[str, Any]:  # noqa: F811
    return exported[1]


def _difference(got: dict[str, Any], want: dict[str, np.ndarray]) -> float:
    """Largest |got - want| over the numeric outputs, relative where |want| > 1 (a CO2
    forecast of 370 ppm has float32 steps of 3e-5); class ids and labels must be equal."""
    worst = 0.0
    for key, value in want.items():
        if key in ("class_id", "label"):
            assert [str(v) for v in np.ravel(got[key])] == [str(v) for v in value.ravel()], key
            continue
        diff = np.abs(np.asarray(got[key], np.float64) - value) / np.maximum(1, np.abs(value))
        worst = max(worst, float(diff.max()))
    return worst


def test_saved_model_process_never_imports_the_package(served: dict[str, Any]) -> None:
    assert served["modules"] == []


@pytest.mark.parametrize("name", CONFIGS + IMPORTED)
def test_saved_model_matches_model_keras(
    name: str, cases: dict[str, Case], served: dict[str, Any]
) -> None:
    case = cases[name]
    for i, want in enumerate(case.expected):
        got = served["outputs"][(name, i)]
        assert set(got) == set(want)
        assert _difference(got, want) <= TOLERANCE, (name, case.calls[i][0])


@pytest.mark.parametrize("name", CONFIGS + IMPORTED)
def test_onnx_matches_model_keras(name: str, cases: dict[str, Case]) -> None:
    import onnxruntime as ort

    case = cases[name]
    session = ort.InferenceSession(case.onnx, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    for (signature, inputs), want in zip(case.calls, case.expected, strict=True):
        if "text" in inputs:  # raw strings: the SavedModel's; ONNX takes the token ids
            continue
        got = dict(zip(outputs, session.run(None, inputs), strict=True))
        want = {k: v for k, v in want.items() if k != "label"}
        assert set(got) == set(want)
        assert _difference(got, want) <= TOLERANCE, (name, signature)


def test_export_json_says_how_to_call_it(cases: dict[str, Case]) -> None:
    with open(os.path.join(cases["imported-text"].saved_model, "export.json")) as fh:
        text = json.load(fh)
    assert text["signatures"]["serving_default"]["inputs"] == {
        "text": {"dtype": "string", "shape": [None]}
    }
    assert set(text["signatures"]) == {"serving_default", "tokens"}
    assert text["class_names"] == cases["imported-text"].schema["info"]["class_names"]
    assert '"instances":["a short text to classify"]' in text["usage"]["tensorflow_serving"]["body"]
    onnx_dir = os.path.dirname(cases["imported-series"].onnx)
    with open(os.path.join(onnx_dir, "export.json")) as fh:
        series = json.load(fh)
    assert series["signatures"]["onnx"]["inputs"] == {
        "window": {"dtype": "float32", "shape": [None, 36, 1]}
    }
    assert series["signatures"]["onnx"]["outputs"]["forecast"]["shape"] == [None, 6, 1]
    assert (series["window"], series["horizon"], series["lag"]) == (24, 6, 12)
    assert series["drift"] == ["window"]  # the anchor's step, inverted inside the export
    assert os.path.exists(
        os.path.join(os.path.dirname(cases["imported-text"].onnx), "vocabulary.json")
    )


def test_words_chars_export_says_its_split(cases: dict[str, Case]) -> None:
    """The CJK data set's split is words+chars, inside the SavedModel; the ONNX export
    (ids in) says how a client makes the ids: the RE2 pattern."""
    from keras_lstm_opt.data.text import SPLIT_PATTERN

    case = cases["imported-mixed"]
    assert case.schema["info"]["text"]["split"] == "words+chars"
    with open(os.path.join(case.saved_model, "export.json"), encoding="utf-8") as fh:
        assert json.load(fh)["tokens"]["split"] == "words+chars"
    with open(os.path.join(os.path.dirname(case.onnx), "export.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["tokens"]["split"] == "words+chars"
    assert SPLIT_PATTERN in manifest["usage"]["tokenize"]
    with open(os.path.join(os.path.dirname(case.onnx), "vocabulary.json"), encoding="utf-8") as fh:
        assert {"雨", "天", "rain"} <= set(json.load(fh))


def test_export_checks_itself(cases: dict[str, Case]) -> None:
    """Without check=False, export_run compares with model.keras and records it."""
    with open(os.path.join(os.path.dirname(cases["default"].onnx), "export.json")) as fh:
        checked = json.load(fh)["checked"]
    assert 0 <= checked["max_difference"]["onnx"] <= TOLERANCE
    with open(os.path.join(os.path.dirname(cases["text"].onnx), "export.json")) as fh:
        assert json.load(fh)["checked"] == "not checked"


def test_a_log_model_is_checked_on_its_own_units_and_refuses_zero(cases: dict[str, Case]) -> None:
    from keras_lstm_opt.errors import DataError
    from keras_lstm_opt.serve.instances import InstanceError, Instances
    from keras_lstm_opt.serve.run import load_run
    from keras_lstm_opt.serve.serving import describe, sample_inputs

    run = load_run(cases["imported-log"].run)
    inverse = run.model.get_layer("series_inverse")  # the exports carry its shrink weight
    assert inverse.shrink and float(inverse.shrink_weight.numpy()[0]) == pytest.approx(0.37)
    window = sample_inputs(describe(run))["window"]  # what an export is checked on
    level = run.info["series"]["level"][0]
    assert window.min() > 0 and 0.5 * level < np.median(window) < 2 * level  # ppm, not logs
    assert np.isfinite(run.forecast_windows(window)).all()
    window[0, 2, 0] = 0.0
    with pytest.raises(DataError, match=r"window 0, row 3, column 'co2': 0 is not above 0"):
        run.forecast_windows(window)
    with pytest.raises(InstanceError, match=r"instances\[4\]: window 0, row 3, column 'co2'"):
        Instances(run).check(window[0].tolist(), 4)


def test_bad_arguments(tmp_path: Any) -> None:
    from keras_lstm_opt.errors import RunDirError, UsageError
    from keras_lstm_opt.serve.export import export_run

    with pytest.raises(UsageError, match="format: expected one of saved_model, onnx"):
        export_run(str(tmp_path), "tflite", str(tmp_path / "out"))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty and holds no earlier export"):
        export_run(str(tmp_path), "onnx", str(tmp_path / "busy"))
    (tmp_path / "earlier").mkdir()  # an earlier export may be replaced ...
    (tmp_path / "earlier" / "export.json").write_text("{}")
    with pytest.raises(RunDirError, match="no model.keras"):  # ... by a finished run's
        export_run(str(tmp_path), "saved_model", str(tmp_path / "earlier"))
    assert os.listdir(tmp_path / "earlier") == ["export.json"]  # kept when it fails


@pytest.mark.parametrize("name", ["imported-series", "imported-text"])
def test_onnx_int8_export_is_quantised_and_near_model_keras(
    name: str, cases: dict[str, Case], tmp_path: Any
) -> None:
    """`--quantize int8`: ONNX Runtime's dynamic quantisation of the export (an unmasked
    LSTM: DynamicQuantizeLSTM; a masked one's Loop: its products), checked like any
    export at 0.05 (relative above 1), smaller on disk."""
    import onnxruntime as ort

    from keras_lstm_opt.serve.export import export_run

    case = cases[name]
    path = export_run(case.run, "onnx", str(tmp_path / "int8"), quantize="int8")
    with open(os.path.join(os.path.dirname(path), "export.json")) as fh:
        manifest = json.load(fh)
    assert manifest["quantize"] == "int8" and "quantize_dynamic" in manifest["quantizer"]
    nodes = manifest["quantized_nodes"]
    assert nodes.get("DynamicQuantizeLSTM" if name == "imported-series" else "MatMulInteger")
    assert manifest["checked"]["tolerance"] == 0.05
    assert 0 < manifest["checked"]["max_difference"]["onnx"] <= 0.05
    assert os.path.getsize(path) < os.path.getsize(case.onnx)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    for (_, inputs), want in zip(case.calls, case.expected, strict=True):
        if "text" in inputs:
            continue
        got = dict(zip(outputs, session.run(None, inputs), strict=True))
        numeric = {k: v for k, v in want.items() if k not in ("label", "class_id")}
        assert _difference(got, numeric) <= 0.05


def test_int8_export_refusals(cases: dict[str, Case], tmp_path: Any) -> None:
    import keras

    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.serve.export import export_run

    with pytest.raises(UsageError, match="--quantize int8 needs --format onnx"):
        export_run(cases["default"].run, "saved_model", str(tmp_path / "sm"), quantize="int8")
    with pytest.raises(UsageError, match="quantize: expected 'int8', got 'int4'"):
        export_run(cases["default"].run, "onnx", str(tmp_path / "o"), quantize="int4")
    run = tmp_path / "bag-only"  # a run of your own model with no product to quantise
    run.mkdir()
    ids = keras.Input((5,), dtype="int32")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(9, 3)(ids))
    keras.Model(ids, pooled).save(run / "model.keras")
    with pytest.raises(UsageError, match="found no LSTM or matrix product to quantise"):
        export_run(str(run), "onnx", str(tmp_path / "bag-int8"), quantize="int8")
    assert not (tmp_path / "bag-int8").exists()  # nothing written
    cli = subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.cli", "export", cases["default"].run,
         "--format", "saved_model", "--quantize", "int8", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=time_limit(120),
    )  # fmt: skip
    assert cli.returncode == 2
    assert cli.stderr.strip().splitlines() == ["error: export: --quantize int8 needs --format onnx"]


def test_predict_and_evaluate_take_precision_int8(cases: dict[str, Case], tmp_path: Any) -> None:
    """`predict_file(..., precision="int8")` (the CLI's `--precision int8`) forecasts within
    0.05 (relative) of float32's; `evaluate` records it; an unknown precision is a usage
    error (exit 2) before anything loads."""
    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import evaluate_run

    case = cases["imported-series"]
    co2 = os.path.join(os.path.dirname(case.run), "co2.csv")
    forecasts = {}
    for precision in ("float32", "int8"):
        out = str(tmp_path / f"{precision}.csv")
        predict_file(case.run, co2, out=out, progress=False, precision=precision)
        with open(out, encoding="utf-8") as fh:
            forecasts[precision] = np.array([float(r["co2"]) for r in csv.DictReader(fh)])
    want, got = forecasts["float32"], forecasts["int8"]
    assert len(want) == 6 and 0 < np.abs(got - want).max() <= 0.05 * np.abs(want).max()
    result = evaluate_run(case.run, data=co2, out=str(tmp_path / "eval"), precision="int8")
    assert result["inference_precision"] == "int8" and result["mae"] > 0
    assert result["summary"]["inference_precision"] == "int8"  # printed by the CLI
    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.serve.run import load_run

    with pytest.raises(UsageError, match="is a path; a forecast run's predict takes the raw rows"):
        load_run(case.run, precision="int8").predict(co2)
    bad = subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.cli", "predict", case.run, co2,
         "--precision", "int4"],
        capture_output=True, text=True, timeout=time_limit(60),
    )  # fmt: skip
    assert bad.returncode == 2 and "invalid choice: 'int4'" in bad.stderr
