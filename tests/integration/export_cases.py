"""What test_export.py checks: each config's model and the imported data sets', exported."""

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
