"""The "mark_case_keep_punctuation" standardize: punctuation and symbols are tokens, a
capital letter starting a word is the token ⇧ before it, all letters are lower-cased;
`data import` records it (words) or keeps Keras's (characters); the ONNX manifest says
how a client makes the same ids; a standardize this version does not know is refused.
"""

from __future__ import annotations

import csv
from typing import Any

import pytest

ROWS = [
    ("Is it raining? Bring an umbrella!", "weather"),
    ("The storm hit Boston at noon.", "weather"),
    ('"Add salt," said Chef Anna.', "food"),
    ("Bake it for 40 min; serve hot.", "food"),
] * 4


def _csv(path: str) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(ROWS)
    return path


def test_marks_token_by_token() -> None:
    import tensorflow as tf

    from keras_lstm_opt.data.text import MARKS, make_tokenizer

    cases = {
        "Hello, World! -- Mark Twain (1835)": "⇧ hello , ⇧ world ! - - ⇧ mark ⇧ twain ( 1835 )",
        "don't I.B.M.": "don ' t ⇧ i . ⇧ b . ⇧ m .",
        "Привет, Мир «да»": "⇧ привет , ⇧ мир « да »",  # Cyrillic lower-cased too
        "東京に行きました。Tokyo!": "東 京 に 行 き ま し た 。 ⇧ tokyo !",
        "iPhone ÉTÉ $5+3=8": "iphone ⇧ été $ 5 + 3 = 8",
        "!!!": "! ! !",
    }
    got = make_tokenizer("words+chars", MARKS)(tf.constant(list(cases))).to_list()
    assert [" ".join(t.decode() for t in row) for row in got] == list(cases.values())
    word = make_tokenizer("word", MARKS)(tf.constant(["Rain, Snow."])).to_list()
    assert word == [[b"\xe2\x87\xa7", b"rain", b",", b"\xe2\x87\xa7", b"snow", b"."]]


def test_import_records_its_standardize(tmp_path: Any) -> None:
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.data.schema import read_schema
    from keras_lstm_opt.data.text import CASE_MARK, MARKS, STANDARDIZE, encode_texts
    from keras_lstm_opt.serve.onnx_export import tokenize_usage

    src = _csv(str(tmp_path / "t.csv"))
    report = import_data(src, str(tmp_path / "w"), text="text", label="label", progress=False)
    info = read_schema(str(tmp_path / "w"))["info"]
    assert info["text"]["standardize"] == report["chosen"]["standardize"]["value"] == MARKS
    assert "punctuation" in report["chosen"]["standardize"]["why"]
    assert {CASE_MARK, "?", "!", ",", ".", '"', ";", "raining"} <= set(info["vocabulary"])
    ids = encode_texts(info, ["Is it raining?", "is it raining"]).tolist()
    vocab = info["vocabulary"]
    assert [vocab[i] for i in ids[0] if i] == [CASE_MARK, "is", "it", "raining", "?"]
    assert ids[0] != ids[1]  # the capital and the question mark are seen
    usage = tokenize_usage(info)
    assert "U+21E7" in usage and r"[\p{P}\p{S}]" in usage and "Unicode" in usage
    mixed = tokenize_usage({"text": {"split": "words+chars", "standardize": MARKS}})
    python = mixed.split("the `regex` package: the pattern ")[1].split("), then split")[0]
    assert r"\u00A0\u1680\u2000-\u200B" in python and r"\x{" not in python  # no RE2 \x{..}
    assert python.startswith(r"([\p{Han}")

    chars = import_data(
        src, str(tmp_path / "c"), text="text", label="label", tokens="character", progress=False
    )
    assert chars["chosen"]["standardize"]["value"] == STANDARDIZE
    cinfo = read_schema(str(tmp_path / "c"))["info"]
    assert cinfo["text"]["standardize"] == STANDARDIZE
    assert "remove ASCII punctuation" in tokenize_usage(cinfo)


def test_unknown_standardize_is_refused() -> None:
    from keras_lstm_opt.data.text import encode_texts
    from keras_lstm_opt.errors import DataError

    info = {
        "vocabulary": ["", "[UNK]", "a"],
        "text": {"split": "whitespace", "standardize": "nfkc_casefold"},
    }
    with pytest.raises(DataError, match="info.text.standardize: 'nfkc_casefold' is not one"):
        encode_texts(info, ["a"])


@pytest.mark.parametrize(
    "standardize", ["lower_and_strip_punctuation", "mark_case_keep_punctuation"]
)
def test_both_standardizes_run_inside_a_tf_function(standardize: str) -> None:
    """As the SavedModel's serving signature runs them (graph mode, no Python)."""
    import tensorflow as tf

    from keras_lstm_opt.data.text import make_vectorizer, token_ids

    vectorizer = make_vectorizer(
        {
            "vocabulary": ["", "[UNK]", "rain", "!"],
            "text": {"split": "whitespace", "standardize": standardize},
        }
    )
    fn = tf.function(
        lambda s: token_ids(vectorizer, s, 4), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    got = fn(tf.constant(["rain!"])).numpy().tolist()
    assert got == ([[2]] if standardize.startswith("lower") else [[2, 3]])
