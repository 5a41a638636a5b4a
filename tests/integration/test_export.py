"""export_run: SavedModel and ONNX exports give model.keras's outputs within 1e-5 for
every config in configs/ and for imported text data sets (WordNet glosses; English,
Japanese and Chinese sentences, split "words+chars": raw strings in) and an imported
series (Mauna Loa CO2, raw windows in, original units out); the SavedModels are called
in a process that cannot import keras_lstm_opt. An imported text set gets the model
`train` builds for it (`train.auto`: the wide path with its subword bag).

Models have random weights (no training): an export must reproduce any weights. Configs
that build the same model (default, multiworker and tuning all build one 64-unit LSTM
on the embedded text task) share one export; one subprocess loads every SavedModel.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from ..conftest import REPO, time_limit
from .test_tokens import CHINESE, ENGLISH, JAPANESE

CONFIGS = sorted(
    os.path.basename(p)[:-5] for p in glob.glob(os.path.join(REPO, "configs", "*.yaml"))
)
IMPORTED = ["imported-text", "imported-mixed", "imported-series", "imported-log", "own-model"]
TOLERANCE = 1e-5
SCRIPT = os.path.join(REPO, "tests", "scripts", "load_saved_model.py")
TEXTS = [
    "",
    "zzqx",  # no known token (-> the single id 1), an unknown word
    "a small domesticated carnivorous mammal",
    "the act of moving something from one place to another; a large natural stream "
    "of water (larger than a creek) that flows into the sea, and a unit of time",
]
MIXED_TEXTS = [
    "",
    "明日は雨が降るでしょう。",
    "我喜欢吃饺子和面条。",
    "Tokyo の天気は晴れ",
    "Heavy rain and strong wind tonight",
    "東京　大阪、ケーキ with chocolate",
]


@dataclass
class Case:
    """One exported model: its run directory, exports, and the calls to compare."""

    run: str
    schema: dict[str, Any]
    # (signature, inputs) pairs; the ONNX model takes the numeric ones
    calls: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list)
    expected: list[dict[str, np.ndarray]] = field(default_factory=list)
    saved_model: str = ""
    onnx: str = ""


def _model_key(name: str) -> tuple[str, str]:
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config import config_to_dict

    cfg = load_config(os.path.join(REPO, "configs", f"{name}.yaml"))
    return cfg.data.task, json.dumps(config_to_dict(cfg)["model"], sort_keys=True)


def _expected(model: Any, schema: dict[str, Any], x: np.ndarray) -> dict[str, np.ndarray]:
    """What model.keras says, in the exported outputs' form."""
    out = np.asarray(model(x, training=False))
    if schema["task"] == "forecast":
        info = schema["info"]
        targets = len((info.get("series") or {}).get("targets") or ["y"])
        return {"forecast": out.reshape(len(x), int(info["horizon"]), targets)}
    if out.shape[1] == 1:  # a sigmoid head (two classes): exported as [1 - p, p]
        out = np.concatenate([1.0 - out, out], axis=1)
    names = schema["info"].get("class_names") or [str(i) for i in range(out.shape[1])]
    ids = out.argmax(axis=1)
    return {"probabilities": out, "class_id": ids, "label": np.array([names[i] for i in ids])}


def _own_model(root: str) -> Case:
    """A klo.Trainer-style run: a model of your own (two inputs, FastLSTM), no schema."""
    import keras

    from keras_lstm_opt import FastLSTM

    ids = keras.Input((6,), dtype="int32", name="ids")
    feats = keras.Input((6, 3), name="feats")
    x = keras.layers.Concatenate()([keras.layers.Embedding(20, 4)(ids), feats])
    out = keras.layers.Dense(2)(FastLSTM(5)(x))
    run = os.path.join(root, "own-model")
    os.makedirs(run)
    keras.Model([ids, feats], out).save(os.path.join(run, "model.keras"))
    model = keras.models.load_model(os.path.join(run, "model.keras"), compile=False)
    rng = np.random.default_rng(1)
    inputs = {
        "ids": rng.integers(0, 20, size=(3, 6)).astype(np.int32),
        "feats": rng.normal(size=(3, 6, 3)).astype(np.float32),
    }
    want = {"output": np.asarray(model([inputs["ids"], inputs["feats"]]))}
    return Case(run, {}, [("serving_default", inputs)], [want])


def _token_batch(rng: np.random.Generator, vocab: int) -> np.ndarray:
    lengths = [1, 6, 23, 64]  # padded to 64: zeros after each row's length
    ids = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, vocab, size=n)
    return ids


def _embedded_schema(task: str, root: str) -> str:
    """A data directory holding just the schema.json of an embedded task (the shards
    are not needed to build and export a model)."""
    from keras_lstm_opt.data.embedded import FORECAST, TEXT
    from keras_lstm_opt.data.schema import write_schema

    if task == "text":
        features = {
            "tokens": {"dtype": "int64", "shape": [None]},
            "label": {"dtype": "int64", "shape": []},
        }
        info: dict[str, Any] = {
            "vocab_size": TEXT["vocab_size"],
            "num_classes": TEXT["num_classes"],
        }
        io = ("tokens", "label")
    else:
        features = {
            "x": {"dtype": "float32", "shape": [FORECAST["window"], 3]},
            "y": {"dtype": "float32", "shape": [FORECAST["horizon"]]},
        }
        info, io = {"n_features": 3, **FORECAST}, ("x", "y")
    out = os.path.join(root, f"embedded-{task}")
    os.makedirs(out, exist_ok=True)
    write_schema(
        out,
        {
            "task": task,
            "compression": "GZIP",
            "inputs": io[0],
            "target": io[1],
            "features": features,
            "splits": {},
            "info": info,
        },
    )
    return out


def _build(
    name: str,
    config: str,
    schema_dir: str,
    root: str,
    texts: list[str] = TEXTS,
    sets: tuple[str, ...] = (),
) -> Case:
    import keras

    from keras_lstm_opt import build_model, load_config, read_schema
    from keras_lstm_opt.data.text import encode_texts

    cfg = load_config(os.path.join(REPO, "configs", f"{config}.yaml"), list(sets))
    schema = read_schema(schema_dir)
    if "text" in schema.get("info", {}):  # imported text: the model `train` builds for it
        from keras_lstm_opt.config.auto import auto_settings

        cfg, _ = auto_settings(cfg, schema)
        assert cfg.model.wide_subwords and cfg.model.wide, name  # the default text model
    keras.utils.set_random_seed(len(name))
    run = os.path.join(root, name)
    os.makedirs(run)
    built = build_model(cfg.model, schema)
    for layer in built.layers:  # a shrink toward the anchor, as training leaves it
        if getattr(layer, "shrink", False):
            layer.shrink_weight.assign([0.37])
    built.save(os.path.join(run, "model.keras"))
    shutil.copy(os.path.join(schema_dir, "schema.json"), run)
    model = keras.models.load_model(os.path.join(run, "model.keras"), compile=False)
    case = Case(run, schema)
    rng = np.random.default_rng(0)
    info = schema["info"]
    if schema["task"] == "text":
        ids = _token_batch(rng, int(info["vocab_size"]))
        if info.get("vocabulary"):
            case.calls.append(("serving_default", {"text": np.array(texts, dtype=object)}))
            case.expected.append(_expected(model, schema, encode_texts(info, texts)))
            if texts is not TEXTS:  # the ids of these texts, as an ONNX client makes them
                case.calls.append(("tokens", {"tokens": encode_texts(info, texts)}))
                case.expected.append(case.expected[-1])
        else:
            case.calls.append(("serving_default", {"tokens": ids}))
            case.expected.append(_expected(model, schema, ids))
        case.calls.append(("tokens", {"tokens": ids}))
        case.expected.append(_expected(model, schema, ids))
    else:
        steps, cols = schema["features"][schema["inputs"]]["shape"]
        if "series" in info:  # real raw windows of the series, in ppm
            values = np.loadtxt(
                os.path.join(root, "co2.csv"),
                delimiter=",",
                skiprows=1,
                usecols=1,
                dtype=np.float32,
            )
            x = np.stack([values[i : i + steps, None] for i in (0, 200, len(values) - steps)])
        else:
            x = rng.normal(size=(3, steps, cols)).astype(np.float32)
        case.calls.append(("serving_default", {"window": x}))
        case.expected.append(_expected(model, schema, x))
    return case


def _requests(cases: dict[str, Case]) -> tuple[list[dict[str, Any]], dict[Any, int]]:
    requests: list[dict[str, Any]] = []
    index = {}
    for name, case in cases.items():
        for i, (signature, inputs) in enumerate(case.calls):
            index[(name, i)] = len(requests)
            requests.append(
                {
                    "path": case.saved_model,
                    "signature": signature,
                    "inputs": {
                        k: {
                            "dtype": "string" if v.dtype == object else str(v.dtype),
                            "value": v.tolist(),
                        }
                        for k, v in inputs.items()
                    },
                }
            )
    return requests, index


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Case], dict[str, Any]]:
    """Every config (and the two imported data sets) -> its Case, exported both ways; and
    what the SavedModels answered in ONE fresh process that cannot import
    keras_lstm_opt (started as soon as they are written, run while ONNX converts)."""
    from benchmarks.corpora import write_co2, write_wordnet
    from keras_lstm_opt import import_data
    from keras_lstm_opt.serve.export import export_run

    root = str(tmp_path_factory.mktemp("export"))
    by_model: dict[tuple[str, str], Case] = {}
    cases: dict[str, Case] = {}
    for config in CONFIGS:
        key = _model_key(config)
        if key not in by_model:
            by_model[key] = _build(config, config, _embedded_schema(key[0], root), root)
        cases[config] = by_model[key]
    write_wordnet(os.path.join(root, "wordnet.csv"), rows=400)
    import_data(
        os.path.join(root, "wordnet.csv"),
        os.path.join(root, "wordnet"),
        text="text",
        label="label",
        max_length=40,
        progress=False,
    )
    cases["imported-text"] = _build("imported-text", "default", os.path.join(root, "wordnet"), root)
    with open(os.path.join(root, "mixed.csv"), "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [("text", "label")]
            + [
                (t, label)
                for corpus in (ENGLISH, JAPANESE, CHINESE)
                for label, texts in corpus.items()
                for t in texts
            ]
        )
    import_data(
        os.path.join(root, "mixed.csv"),
        os.path.join(root, "mixed"),
        text="text",
        label="label",
        progress=False,
    )
    cases["imported-mixed"] = _build(
        "imported-mixed", "default", os.path.join(root, "mixed"), root, MIXED_TEXTS
    )
    write_co2(os.path.join(root, "co2.csv"))
    import_data(
        os.path.join(root, "co2.csv"),
        os.path.join(root, "co2"),
        time="date",
        target="co2",
        window=24,
        horizon=6,
        transform="seasonal_diff",
        season=12,
        progress=False,
    )
    # shrunk toward an anchor that adds the window's own step (`drift`, as the import
    # chooses it for a season whose change grows): inverted inside the model too
    with open(os.path.join(root, "co2", "schema.json")) as fh:
        co2_schema = json.load(fh)
    co2_schema["info"]["series"]["drift"] = ["window"]
    with open(os.path.join(root, "co2", "schema.json"), "w") as fh:
        json.dump(co2_schema, fh)
    cases["imported-series"] = _build(
        "imported-series", "forecast", os.path.join(root, "co2"), root, sets=("model.shrink=true",)
    )
    # the logarithm's differences, summed from a level and a damped trend: both inverted
    # inside the model, so both exports must carry them
    log_dir = os.path.join(root, "co2-log")
    import_data(
        os.path.join(root, "co2.csv"),
        log_dir,
        time="date",
        target="co2",
        window=24,
        horizon=6,
        transform="log+diff",
        progress=False,
    )
    with open(os.path.join(log_dir, "schema.json")) as fh:
        log_schema = json.load(fh)
    log_schema["info"]["series"]["smoothing"] = {"alpha": [0.5], "beta": [0.3], "phi": [0.9]}
    with open(os.path.join(log_dir, "schema.json"), "w") as fh:
        json.dump(log_schema, fh)
    cases["imported-log"] = _build(
        "imported-log", "forecast", log_dir, root, sets=("model.shrink=true",)
    )
    cases["own-model"] = _own_model(root)
    unique = list({id(c): c for c in cases.values()}.values())
    for case in unique:
        case.saved_model = export_run(case.run, "saved_model", case.run + "-sm", check=False)
    requests, index = _requests(cases)
    path = os.path.join(root, "requests.json")
    with open(path, "w") as fh:
        json.dump(requests, fh)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
    proc = subprocess.Popen(
        [sys.executable, SCRIPT, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=root,
    )
    try:
        for case in unique:  # the default's checks itself (test_export_checks_itself)
            case.onnx = export_run(
                case.run, "onnx", case.run + "-onnx", check=case is cases["default"]
            )
        stdout, stderr = proc.communicate(timeout=time_limit(300))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    served = {
        "modules": result["modules"],
        "outputs": {key: result["results"][i] for key, i in index.items()},
    }
    return cases, served


@pytest.fixture(scope="module")
def cases(exported: tuple[dict[str, Case], dict[str, Any]]) -> dict[str, Case]:
    return exported[0]


@pytest.fixture(scope="module")
def served(exported: tuple[dict[str, Case], dict[str, Any]]) -> dict[str, Any]:
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
