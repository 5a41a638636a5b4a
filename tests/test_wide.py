"""The wide path (`model.wide`) and max+mean pooling: what they compute, on and off, and
that a trained wide model keeps one artifact (model.keras, predict, the SavedModel)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from keras_lstm_opt.config import ModelConfig
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.pooling import MaxMeanPooling
from keras_lstm_opt.models.wide import PRIME, NgramBag

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _schema(vocab: int = 50, classes: int = 3) -> dict:
    return {"inputs": "tokens", "target": "label", "compression": "GZIP",
            "features": {"tokens": {"dtype": "int64", "shape": [None]},
                         "label": {"dtype": "int64", "shape": []}},
            "info": {"vocab_size": vocab, "num_classes": classes}}


def test_ngram_slots_are_tokens_then_hashed_pairs_and_skip_padding() -> None:
    bag = NgramBag(100, buckets=1024, dim=4, ngrams=2)
    slots, weights = bag.slots(np.array([[5, 7, 9, 0]]))
    bigram = [100 + (5 * PRIME + 7) % 1024, 100 + (7 * PRIME + 9) % 1024,
              100 + (9 * PRIME + 0) % 1024]
    assert slots.numpy().tolist() == [[5, 7, 9, 0, *bigram]]
    assert weights.numpy().tolist() == [[1, 1, 1, 0, 1, 1, 0]]  # (9, pad) is no bigram
    tri = NgramBag(100, buckets=1024, dim=4, ngrams=3).slots(np.array([[5, 7, 9]]))[0]
    assert tri.numpy()[0, -1] == 100 + ((5 * PRIME + 7) % 1024 * PRIME + 9) % 1024


def test_ngram_bag_is_a_mean_that_padding_and_length_do_not_change() -> None:
    bag = NgramBag(100, buckets=64, dim=6, ngrams=2)
    short = bag(np.array([[3, 4, 5]])).numpy()
    padded = bag(np.array([[3, 4, 5, 0, 0]])).numpy()
    np.testing.assert_allclose(short, padded, atol=1e-6)
    table = bag.table.embeddings.numpy()
    slots = [3, 4, 5, 100 + (3 * PRIME + 4) % 64, 100 + (4 * PRIME + 5) % 64]
    np.testing.assert_allclose(short[0], table[slots].mean(0), atol=1e-6)
    assert not np.allclose(bag(np.array([[4, 3, 5]])).numpy(), short)  # order counts
    np.testing.assert_allclose(bag(np.array([[0, 0]])).numpy(), 0.0)  # no token: zeros
    single = NgramBag(100, buckets=64, dim=6, ngrams=1)
    single.build((None, None))
    np.testing.assert_allclose(single(np.array([[7]])).numpy()[0],
                               single.table.embeddings.numpy()[7], atol=1e-6)


def test_ngram_bag_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="vocab_size >= 2"):
        NgramBag(1, buckets=8)


def test_max_mean_pooling_ignores_padded_steps() -> None:
    import tensorflow as tf

    x = tf.constant([[[1.0, -2.0], [3.0, -4.0], [99.0, 99.0]]])
    mask = tf.constant([[True, True, False]])
    out = MaxMeanPooling()(x, mask=mask).numpy()
    np.testing.assert_allclose(out, [[3.0, -2.0, 2.0, -3.0]])
    empty = MaxMeanPooling()(x, mask=tf.constant([[False, False, False]])).numpy()
    np.testing.assert_allclose(empty, 0.0)


@pytest.mark.parametrize("wide", [True, False])
def test_wide_on_and_off(wide: bool) -> None:
    cfg = ModelConfig(units=8, embedding_dim=8, pooling="max_mean", wide=wide,
                      wide_buckets=256, wide_dim=4)
    model = build_model(cfg, _schema())
    names = [layer.name for layer in model.layers]
    assert ("wide" in names) is wide and "max_mean_pool" in names
    assert model.get_layer("head").input.shape[-1] == 16 + (4 if wide else 0)
    x = np.array([[3, 4, 5, 0], [6, 7, 0, 0]])
    np.testing.assert_allclose(model(x), model(np.concatenate([x, 0 * x], 1)), atol=1e-6)


def test_a_trained_wide_model_is_one_artifact(tmp_path) -> None:  # noqa: ANN001
    """Real glosses: import, train (wide + max_mean), predict from the run, and the
    SavedModel (raw strings in) answers the same in a process without the package."""
    from keras_lstm_opt import import_data
    from keras_lstm_opt.bench.corpora import wordnet_rows, write_text_rows
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.export import export_run
    from keras_lstm_opt.serve.run import load_run

    rows = wordnet_rows()
    random.Random(5).shuffle(rows)
    write_text_rows(rows[:400], str(tmp_path / "g.csv"))
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    import_data(str(tmp_path / "g.csv"), data, text="text", label="label", max_length=30,
                progress=False)
    metrics = fit(None, run, [f"data.path={data}", "train.epochs=1", "train.verbose=silent",
                              "model.wide=true", "model.pooling=max_mean",
                              "model.wide_buckets=4096"], overwrite=True)
    assert metrics["epochs_completed"] == 1
    loaded = load_run(run)
    assert loaded.model.get_layer("wide").buckets == 4096
    texts = ["a domestic animal kept for company", "a tool for cutting wood", "zzqx", ""]
    probabilities = np.asarray(loaded.probabilities(texts, 256))
    out = export_run(run, "saved_model", str(tmp_path / "sm"), check=False)
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps([{"path": out, "signature": "serving_default", "inputs": {
        "text": {"dtype": "string", "value": texts}}}]))
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tests", "scripts",
                                                        "load_saved_model.py"), str(requests)],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
                          env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["modules"] == []
    served = result["results"][0]
    key = next(k for k in served if np.asarray(served[k]).ndim == 2)
    np.testing.assert_allclose(np.asarray(served[key]), probabilities, atol=1e-5)


@pytest.mark.parametrize("pooling", ["max_mean", "mean", "last"])
def test_predictor_runs_the_wide_path_eagerly(pooling: str) -> None:
    from keras_lstm_opt.models.predictor import Predictor

    cfg = ModelConfig(units=8, embedding_dim=8, pooling=pooling, wide=True,
                      wide_buckets=256, wide_dim=4)
    model = build_model(cfg, _schema())
    predictor = Predictor(model)
    assert predictor.eager, predictor.plan
    assert "wide" in predictor.plan and "deep_and_wide" in predictor.plan
    x = np.array([[3, 4, 5, 0], [6, 7, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(predictor(x), model(x), atol=1e-5)
