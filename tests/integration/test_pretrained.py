"""model.pretrained_embeddings with word vectors trained here by gensim on the glosses the
test imports: word2vec text, word2vec binary and GloVe text read alike; coverage logged;
frozen rows stay the vectors, trainable ones train; the export still takes raw strings."""

from __future__ import annotations

import csv
import json
import logging
import os

import numpy as np
import pytest

from keras_lstm_opt.errors import ConfigError, DataError

from ..conftest import TINY_RUN as TINY

gensim = pytest.importorskip("gensim", reason="needs gensim (the test extra)")
pytestmark = pytest.mark.slow
DIM = 16


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from gensim.models import Word2Vec

    from benchmarks.corpora import write_wordnet
    from keras_lstm_opt.data.importer import import_data

    root = tmp_path_factory.mktemp("pretrained")
    src = str(root / "glosses.csv")
    write_wordnet(src, rows=1500, seed=3)
    import_data(src, str(root / "data"), text="text", label="label", progress=False)
    texts = [row["text"].lower().split() for row in csv.DictReader(open(src, encoding="utf-8"))]
    w2v = Word2Vec(texts, vector_size=DIM, min_count=1, epochs=3, seed=1, workers=1)
    w2v.wv.save_word2vec_format(str(root / "vectors.txt"))
    w2v.wv.save_word2vec_format(str(root / "vectors.bin"), binary=True)
    lines = open(root / "vectors.txt", encoding="utf-8").read().splitlines()[1:]
    (root / "glove.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")  # no header
    return {"root": str(root), "data": str(root / "data"), "txt": str(root / "vectors.txt")}


def _vocabulary(corpus: dict[str, str]) -> list[str]:
    return json.load(open(os.path.join(corpus["data"], "schema.json")))["info"]["vocabulary"]


def test_the_three_formats_give_the_same_rows(corpus) -> None:
    import gzip
    import shutil

    from keras_lstm_opt.models.pretrained import read_vectors

    vocabulary = _vocabulary(corpus)
    wv = gensim.models.KeyedVectors.load_word2vec_format(corpus["txt"])
    for name in ("vectors.bin", "glove.txt"):  # compressed, as vectors are often shipped
        with open(os.path.join(corpus["root"], name), "rb") as src:
            with gzip.open(os.path.join(corpus["root"], name + ".gz"), "wb") as dst:
                shutil.copyfileobj(src, dst)
    got = {}
    for name in ("vectors.txt", "vectors.bin", "glove.txt", "vectors.bin.gz", "glove.txt.gz"):
        rows, dim, found = read_vectors(os.path.join(corpus["root"], name), vocabulary)
        assert dim == DIM and found == len(rows) > 0.5 * len(vocabulary)
        got[name] = rows
    assert got["vectors.txt"].keys() == got["vectors.bin"].keys() == got["glove.txt"].keys()
    for name in ("vectors.bin", "glove.txt"):
        assert all(np.array_equal(v, got[name + ".gz"][i]) for i, v in got[name].items())
    for i, vec in got["vectors.bin"].items():
        np.testing.assert_allclose(vec, wv[vocabulary[i]], atol=1e-6)  # text: 6 decimals
        np.testing.assert_allclose(got["glove.txt"][i], got["vectors.txt"][i], atol=0)


def test_frozen_rows_stay_the_vectors_and_trainable_ones_train(corpus, tmp_path, caplog) -> None:
    import keras

    from keras_lstm_opt.experiment import fit

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    vocabulary = _vocabulary(corpus)
    wv = gensim.models.KeyedVectors.load_word2vec_format(corpus["txt"])
    word = next(w for w in vocabulary[2:] if w in wv.key_to_index)
    rows = {}
    for trainable in (False, True):
        run = str(tmp_path / f"trainable-{trainable}")
        metrics = fit(
            None,
            run_dir=run,
            overrides=[*TINY, f"data.path={corpus['data']}", "train.epochs=2"]
            + [f"model.pretrained_embeddings={corpus['txt']}"]
            + [f"model.embeddings_trainable={str(trainable).lower()}"],
        )
        assert np.isfinite(metrics["val_loss"])
        assert metrics["auto"]["model.embedding_dim"]["value"] == DIM  # the vectors' size
        model = keras.models.load_model(os.path.join(run, "model.keras"), compile=False)
        layer = model.get_layer("embedding")
        assert layer.trainable is trainable
        rows[trainable] = layer.get_weights()[0][vocabulary.index(word)]
    found = [r.getMessage() for r in caplog.records if "words found in" in r.getMessage()]
    assert len(found) == 2 and found[0].startswith("model.pretrained_embeddings: "), found
    np.testing.assert_allclose(rows[False], wv[word], atol=1e-6)  # frozen: the vector
    assert np.abs(rows[True] - wv[word]).max() > 1e-4  # trained away from it


def test_the_export_still_takes_raw_strings(corpus, tmp_path) -> None:
    import tensorflow as tf

    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.export import export_run
    from keras_lstm_opt.serve.run import load_run

    run = str(tmp_path / "run")
    fit(None, run_dir=run, overrides=[*TINY, f"data.path={corpus['data']}"]
        + [f"model.pretrained_embeddings={corpus['txt']}"])  # fmt: skip
    out = export_run(run, "saved_model", str(tmp_path / "sm"), check=False)  # compared here
    texts = ["a large wild cat of the grasslands", "a tool for cutting wood"]
    served = tf.saved_model.load(out).signatures["serving_default"](text=tf.constant(texts))
    want = load_run(run).predict(texts)
    got = served["probabilities"].numpy()
    for row, w in zip(got, want, strict=True):
        probs = np.array(list(w["probabilities"].values()))
        np.testing.assert_allclose(row, probs, atol=1e-5)
    names = load_run(run).class_names
    assert [names[i] for i in served["class_id"].numpy()] == [w["label"] for w in want]


def test_bad_vectors_and_data_without_words_say_so(corpus, tmp_path, text_dir) -> None:
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.experiment import fit

    with pytest.raises(ConfigError, match="model.pretrained_embeddings: no such file"):
        load_config(None, [f"model.pretrained_embeddings={tmp_path / 'none.txt'}"])
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\ncat 0.1 0.2\n", encoding="utf-8")
    from keras_lstm_opt.models.pretrained import read_vectors

    with pytest.raises(DataError, match=r"bad.txt, line 2: 2 numbers, expected 3"):
        read_vectors(str(bad), ["", "[UNK]", "the", "cat"])
    with pytest.raises(ConfigError, match=r"model.embedding_dim: 64, but the vectors in .* "
                       r"have 16 numbers each"):  # fmt: skip
        fit(None, run_dir=str(tmp_path / "dim"), overrides=[*TINY, f"data.path={corpus['data']}",
            f"model.pretrained_embeddings={corpus['txt']}", "model.embedding_dim=64"])  # fmt: skip
    with pytest.raises(DataError, match="the data has no vocabulary"):  # token ids only
        fit(None, run_dir=str(tmp_path / "r"), overrides=[*TINY, f"data.path={text_dir}"]
            + [f"model.pretrained_embeddings={corpus['txt']}"])  # fmt: skip
