"""The wide path (`model.wide`), its subwords (`model.wide_subwords`) and max+mean pooling:
what they compute, on and off, and that a trained wide model keeps one artifact
(model.keras, predict, the SavedModel)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt.config import ModelConfig
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.pooling import MaxMeanPooling
from keras_lstm_opt.models.wide import PRIME, NgramBag, char_ngrams, fnv1a, subword_table

from ..conftest import time_limit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


WORDS = ["", "[UNK]", "ab", "abc", "né", "b"]


def _schema(vocab: int = 50, classes: int = 3, words: list[str] | None = None) -> dict:
    info: dict = {"vocab_size": vocab, "num_classes": classes}
    if words is not None:  # as an import writes it: ids 0..vocab-1 are these words
        info.update(vocab_size=len(words), vocabulary=words, text={"split": "whitespace"})
    return {
        "inputs": "tokens",
        "target": "label",
        "compression": "GZIP",
        "features": {
            "tokens": {"dtype": "int64", "shape": [None]},
            "label": {"dtype": "int64", "shape": []},
        },
        "info": info,
    }


def test_ngram_slots_are_tokens_then_hashed_pairs_and_skip_padding() -> None:
    bag = NgramBag(100, buckets=1024, dim=4, ngrams=2)
    slots, weights = bag.slots(np.array([[5, 7, 9, 0]]))
    bigram = [
        100 + (5 * PRIME + 7) % 1024,
        100 + (7 * PRIME + 9) % 1024,
        100 + (9 * PRIME + 0) % 1024,
    ]
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
    np.testing.assert_allclose(
        single(np.array([[7]])).numpy()[0], single.table.embeddings.numpy()[7], atol=1e-6
    )


def test_ngram_bag_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="vocab_size >= 2"):
        NgramBag(1, buckets=8)


def test_fnv1a_is_the_published_hash_and_ngrams_count_characters() -> None:
    # the FNV-1a 32-bit test vectors (http://www.isthe.com/chongo/tech/comp/fnv/)
    assert [fnv1a(t) for t in ("", "a", "foobar")] == [0x811C9DC5, 0xE40C292C, 0xBF9CF968]
    assert char_ngrams("ab", 2, 3) == ["<a", "ab", "b>", "<ab", "ab>"]
    assert char_ngrams("né", 3, 4) == ["<né", "né>", "<né>"]  # é is one character


def test_subword_table_lists_each_words_hashed_ngrams_and_none_for_reserved() -> None:
    table = subword_table(WORDS, 1000, 2, 3)
    by_hand = {
        2: ["<a", "ab", "b>", "<ab", "ab>"],
        3: ["<a", "ab", "bc", "c>", "<ab", "abc", "bc>"],
        4: ["<n", "né", "é>", "<né", "né>"],
        5: ["<b", "b>", "<b>"],
    }
    assert table.shape == (6, 7) and table.dtype == np.int32
    assert (table[:2] == -1).all()  # padding and [UNK]
    for i, grams in by_hand.items():
        want = [fnv1a(g) % 1000 for g in grams]
        assert table[i].tolist() == want + [-1] * (7 - len(want))
    np.testing.assert_array_equal(subword_table(WORDS, 1000, 2, 3), table)  # deterministic
    assert subword_table(WORDS, 1000, 2, 3, width=2).shape == (6, 2)


def test_subwords_add_a_second_bag_the_mean_of_the_texts_char_ngrams() -> None:
    bag = NgramBag(6, buckets=64, dim=5, ngrams=2, subwords=32, minn=2, maxn=3, vocabulary=WORDS)
    out = bag(np.array([[2, 3, 1, 3, 0]])).numpy()
    assert out.shape == (1, 10) and bag.compute_output_shape((None, None)) == (None, 10)
    table, sub = bag.table.embeddings.numpy(), bag.subword_ids.numpy()
    assert "vocabulary" not in bag.get_config() and bag.subword_ids.trainable is False
    bigrams = [6 + (a * PRIME + b) % 64 for a, b in ((2, 3), (3, 1), (1, 3))]
    np.testing.assert_allclose(out[0, :5], table[[2, 3, 1, 3, *bigrams]].mean(0), atol=1e-6)
    grams = [6 + 64 + s for i in (2, 3, 3) for s in sub[i] if s >= 0]  # [UNK]: none
    assert len(grams) == 5 + 7 + 7
    np.testing.assert_allclose(out[0, 5:], table[grams].mean(0), atol=1e-6)
    np.testing.assert_allclose(bag(np.array([[2, 3, 1, 3]])).numpy(), out, atol=1e-6)
    np.testing.assert_allclose(bag(np.array([[0, 0]])).numpy(), 0.0)
    np.testing.assert_allclose(bag(np.array([[1]])).numpy()[0, 5:], 0.0)  # no n-grams


def test_subword_gradients_stay_row_sparse() -> None:
    import tensorflow as tf

    bag = NgramBag(6, buckets=64, dim=4, subwords=32, minn=2, maxn=3, vocabulary=WORDS)
    bag.build((None, None))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(bag(np.array([[2, 5, 0]])))
    grad = tape.gradient(loss, bag.table.embeddings)
    assert isinstance(grad, tf.IndexedSlices)
    dense = tf.convert_to_tensor(grad).numpy()
    assert len(grad.indices) < 0.5 * len(dense)  # rows gathered, not the table
    rows = set(np.flatnonzero(np.abs(dense).sum(1)).tolist())  # padding's have zeros
    sub = bag.subword_ids.numpy()
    assert rows == {2, 5, 6 + (2 * PRIME + 5) % 64} | {70 + s for s in sub[[2, 5]].flat if s >= 0}


def test_subwords_only_with_a_vocabulary_of_words() -> None:
    cfg = ModelConfig(
        units=8,
        embedding_dim=8,
        wide=True,
        wide_buckets=64,
        wide_dim=4,
        wide_subwords=32,
        wide_minn=2,
        wide_maxn=3,
    )
    model = build_model(cfg, _schema(words=WORDS))
    assert model.get_layer("wide").subwords == 32
    assert model.get_layer("head").input.shape[-1] == 8 + 2 * 4  # LSTM, bag, n-gram bag
    assert build_model(cfg, _schema()).get_layer("wide").subwords == 0  # no vocabulary
    chars = _schema(words=WORDS)
    chars["info"]["text"]["split"] = "character"
    assert build_model(cfg, chars).get_layer("wide").subwords == 0
    with pytest.raises(ValueError, match="need the vocabulary"):
        NgramBag(6, subwords=32)


def test_a_model_with_subwords_loads_without_the_vocabulary(tmp_path) -> None:  # noqa: ANN001
    import keras

    cfg = ModelConfig(
        units=8,
        embedding_dim=8,
        pooling="max_mean",
        wide=True,
        wide_buckets=64,
        wide_dim=4,
        wide_subwords=32,
        wide_minn=2,
        wide_maxn=3,
    )
    model = build_model(cfg, _schema(words=WORDS))
    x = np.array([[2, 3, 4, 0], [5, 1, 0, 0]])
    path = str(tmp_path / "model.keras")
    model.save(path)
    assert "né" not in json.dumps(model.get_layer("wide").get_config())
    loaded = keras.saving.load_model(path)
    wide = loaded.get_layer("wide")
    np.testing.assert_array_equal(wide.subword_ids.numpy(), subword_table(WORDS, 32, 2, 3))
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


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
    cfg = ModelConfig(
        units=8, embedding_dim=8, pooling="max_mean", wide=wide, wide_buckets=256, wide_dim=4
    )
    model = build_model(cfg, _schema())
    names = [layer.name for layer in model.layers]
    assert ("wide" in names) is wide and "max_mean_pool" in names
    assert model.get_layer("head").input.shape[-1] == 16 + (4 if wide else 0)
    x = np.array([[3, 4, 5, 0], [6, 7, 0, 0]])
    np.testing.assert_allclose(model(x), model(np.concatenate([x, 0 * x], 1)), atol=1e-6)


def test_a_trained_wide_model_is_one_artifact(tmp_path) -> None:  # noqa: ANN001
    """Real glosses: import, train (wide with subwords + max_mean), predict from the run,
    and the SavedModel (raw strings in) answers the same in a process without the
    package (the subword table travels as a weight)."""
    from benchmarks.corpora import wordnet_rows, write_text_rows
    from keras_lstm_opt import import_data
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.export import export_run
    from keras_lstm_opt.serve.run import load_run

    rows = wordnet_rows()
    random.Random(5).shuffle(rows)
    write_text_rows(rows[:400], str(tmp_path / "g.csv"))
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    import_data(
        str(tmp_path / "g.csv"), data, text="text", label="label", max_length=30, progress=False
    )
    metrics = fit(
        None,
        run,
        [
            f"data.path={data}",
            "train.epochs=1",
            "train.verbose=silent",
            "model.wide=true",
            "model.pooling=max_mean",
            "model.wide_buckets=4096",
            "model.wide_subwords=2048",
        ],
        overwrite=True,
    )
    assert metrics["epochs_completed"] == 1
    loaded = load_run(run)
    wide = loaded.model.get_layer("wide")
    assert wide.buckets == 4096 and wide.subwords == 2048
    assert (wide.subword_ids.numpy() >= 0).any()
    texts = ["a domestic animal kept for company", "a tool for cutting wood", "zzqx", ""]
    probabilities = np.asarray(loaded.probabilities(texts, 256))
    out = export_run(run, "saved_model", str(tmp_path / "sm"), check=False)
    requests = tmp_path / "requests.json"
    requests.write_text(
        json.dumps(
            [
                {
                    "path": out,
                    "signature": "serving_default",
                    "inputs": {"text": {"dtype": "string", "value": texts}},
                }
            ]
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "tests", "scripts", "load_saved_model.py"),
            str(requests),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["modules"] == []
    served = result["results"][0]
    key = next(k for k in served if np.asarray(served[k]).ndim == 2)
    np.testing.assert_allclose(np.asarray(served[key]), probabilities, atol=1e-5)


@pytest.mark.parametrize(
    "pooling,subwords", [("max_mean", 0), ("mean", 0), ("last", 0), ("max_mean", 32), ("last", 32)]
)
def test_predictor_runs_the_wide_path_eagerly(pooling: str, subwords: int) -> None:
    from keras_lstm_opt.models.predictor import Predictor

    cfg = ModelConfig(
        units=8,
        embedding_dim=8,
        pooling=pooling,
        wide=True,
        wide_buckets=256,
        wide_dim=4,
        wide_subwords=subwords,
    )
    model = build_model(cfg, _schema(words=WORDS + [f"w{i}" for i in range(44)]))
    assert model.get_layer("wide").subwords == subwords
    predictor = Predictor(model)
    assert predictor.eager, predictor.plan
    assert "wide" in predictor.plan and "deep_and_wide" in predictor.plan
    # padding, an all-padding row, [UNK] (1: no subwords) alone and beside words
    x = np.array(
        [[3, 4, 5, 0], [6, 7, 0, 0], [0, 0, 0, 0], [4, 4, 49, 2], [1, 1, 0, 0], [1, 3, 1, 0]]
    )
    np.testing.assert_allclose(predictor(x), model(x), atol=1e-5)
    # a tensor in, and int32 ids, as a caller may pass them
    np.testing.assert_allclose(predictor(tf.constant(x, tf.int32)), model(x), atol=1e-5)
    np.testing.assert_allclose(predictor(x[:1]), model(x[:1]), atol=1e-5)


@pytest.mark.parametrize("subwords", [0, 64])
def test_predictor_answers_a_row_the_same_in_any_batch(subwords: int) -> None:
    """Exactly: a served answer must not depend on the other rows of its request (their
    length pads this row's), nor on how many there are."""
    from keras_lstm_opt.models.predictor import Predictor

    cfg = ModelConfig(
        units=64,
        embedding_dim=64,
        pooling="max_mean",
        wide=True,
        wide_dim=64,
        wide_buckets=4096,
        wide_subwords=subwords,
    )
    predictor = Predictor(build_model(cfg, _schema(words=WORDS + [f"w{i}" for i in range(44)])))
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, 40)  # 40 texts as a request brings them, padded
    batch = np.zeros((40, lengths.max()), np.int64)
    for i, n in enumerate(lengths):
        batch[i, :n] = rng.integers(2, 50, n)
    two = batch[:2, : lengths[:2].max()]  # the first two alone, padded to their own longest
    assert np.array_equal(predictor(two), predictor(batch)[:2])
    assert np.array_equal(predictor(batch[:1, : lengths[0]]), predictor(batch)[:1])


def test_distinct_subwords_counts_what_the_subword_table_hashes() -> None:
    """train.auto sizes the subword table by `distinct_subwords`: with slots enough for no
    collisions, the table holds exactly that many distinct slots."""
    from keras_lstm_opt.models.wide import distinct_subwords, subword_table

    words = ["", "[UNK]", "run", "runs", "running", "ran", "x", "a" * 40, "走る"]
    for minn, maxn, width in ((2, 5, 64), (3, 3, 64), (1, 4, 6)):
        table = subword_table(words, 2**31 - 1, minn, maxn, width)
        slots = len(np.unique(table[table >= 0]))
        assert distinct_subwords(words, minn, maxn, width) == slots > 0, (minn, maxn, width)
