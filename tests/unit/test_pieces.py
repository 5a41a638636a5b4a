"""Word pieces (`keras_lstm_opt.data.pieces`): a word outside the vocabulary is written as
its pieces, the same way in Python (counting) and in TensorFlow (import, predict, the
SavedModel); the import chooses, records and reports them; `--pieces 0` and character
tokens keep one [UNK] per such word."""

from __future__ import annotations

import csv
from collections import Counter
from typing import Any

import pytest

WORDS = ["a", "ab", "abc", "abcd", "любовью", "naïve", "cafe\u0301s", "🙂🙃x", "x" * 10, "#"]


def test_python_and_tensorflow_write_the_same_pieces() -> None:
    import tensorflow as tf

    from keras_lstm_opt.data.pieces import piece_strings, pieces_of

    for n in (1, 2, 3, 4):
        got = piece_strings(tf.constant(WORDS), n).numpy()
        assert [g.decode().split(" ") for g in got] == [pieces_of(w, n) for w in WORDS], n
    assert pieces_of("любовью", 3) == ["люб#", "#овь", "#ю"]
    assert pieces_of("cats", 3) == ["cat#", "#s"] and pieces_of("ab", 3) == ["ab#"]


def test_choose_pieces_counts_long_words_pieces_weighted_by_their_counts() -> None:
    from keras_lstm_opt.data.pieces import choose_pieces

    counts = Counter({b"rain": 5, b"rainy": 1, b"raining": 1, b"ab": 9, b"snow": 1})
    words = ["", "[UNK]", "rain", "ab"]
    pieces, why, longer = choose_pieces(counts, words, 3, 2)
    # rai# 5+1+1, #n 5, #ny 1, #nin 1, #g 1, sno# 1, #w 1: only two seen twice; "ab" too short
    assert pieces == ["rai#", "#n"]
    assert why == "3-character pieces (1.24x the tokens); 2 pieces seen at least 2 times kept"
    assert longer == pytest.approx((14 + 2 + 3 + 2) / 17)  # rainy 2, raining 3, snow 2 pieces


def _vectorize(info: dict[str, Any], texts: list[str]) -> list[list[str]]:
    from keras_lstm_opt.data.text import encode_texts

    vocab = info["vocabulary"]
    return [[vocab[i] for i in row if i] for row in encode_texts(info, texts)]


def test_a_word_outside_the_vocabulary_is_its_pieces_inside_a_tf_function() -> None:
    import tensorflow as tf

    from keras_lstm_opt.data.text import MARKS, make_vectorizer, token_ids

    info = {
        "vocabulary": ["", "[UNK]", "⇧", "rain", "rai#", "#ny", "#n", "."],
        "text": {"split": "whitespace", "standardize": MARKS, "pieces": 3, "max_length": 9},
    }
    assert _vectorize(info, ["Rainy rain.", "rainzz xyz", "", "rain"]) == [
        ["⇧", "rai#", "#ny", "rain", "."],
        ["rai#", "[UNK]", "[UNK]"],  # #nzz is no piece; xyz# neither
        ["[UNK]"],
        ["rain"],
    ]
    vectorizer = make_vectorizer(info)
    fn = tf.function(
        lambda s: token_ids(vectorizer, s, 9), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    assert fn(tf.constant(["Rainy"])).numpy().tolist() == [[2, 4, 5]]
    without = {**info, "text": {**info["text"], "pieces": 0}}
    assert _vectorize(without, ["Rainy rain."]) == [["⇧", "[UNK]", "rain", "."]]


def _csv(path: str) -> str:
    rows = [("Rainy days and rain again.", "w"), ("It rains.", "w"), ("Rain, rain.", "w")]
    rows += [("Bread and honey.", "f"), ("Honey bread!", "f"), ("Bake bread.", "f")]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *rows * 3])
    return path


def _names(path: str) -> str:
    """Place names, each seen once: most of their tokens are outside the vocabulary."""
    rows = [(f"Lake {n}", "lake") for n in ("Lomond", "Ness", "Garda", "Como", "Geneva")]
    rows += [(f"{n}ia", "country") for n in ("Moldav", "Latv", "Eston", "Serb", "Croat")]
    rows += [(f"{n}ville", "town") for n in ("Nash", "Knox", "Louis", "Jackson", "Hunts")]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *rows])
    return path


def test_the_import_spells_unknown_words_where_they_are_many_and_reports_it(
    tmp_path: Any,
) -> None:
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.data.schema import read_schema

    src = _names(str(tmp_path / "n.csv"))
    report = import_data(
        src,
        str(tmp_path / "n"),
        text="text",
        label="label",
        validation_fraction=0.0,
        progress=False,
    )
    info = read_schema(str(tmp_path / "n"))["info"]
    assert info["text"]["pieces"] == report["chosen"]["pieces"]["value"] == 1
    why = report["chosen"]["pieces"]["why"]
    # 40 tokens (⇧ lake ⇧ name, ⇧ name): the 15 names, each seen once, are outside
    assert why.startswith("auto: 37.5% of the training tokens are outside the vocabulary")
    assert "letter by letter" in why
    assert {"lake", "⇧", "n#", "#i", "#a", "#v", "#l", "#e"} <= set(info["vocabulary"])
    # max_length is the 95th percentile of the texts as written, names spelled out
    import tensorflow as tf

    from keras_lstm_opt.data.text import make_vectorizer

    with open(src, encoding="utf-8") as fh:
        texts = [row[0] for row in csv.reader(fh)][1:]
    written = sorted(make_vectorizer(info)(tf.constant(texts)).row_lengths().numpy().tolist())
    assert written[-1] == 13  # ⇧ j# #a #c #k #s #o #n #v #i #l #l #e
    p95 = written[-(-95 * len(written) // 100) - 1]  # the first length 95% of texts reach
    assert info["text"]["max_length"] == p95 > 3
    assert report["chosen"]["max_length"]["why"].endswith(
        "(tokens as written, unknown words spelled)"
    )
    got = _vectorize(info, ["Lake Nessia"])[0]
    assert got[:3] == ["⇧", "lake", "⇧"] and got[3:] == ["n#", "#e", "#s", "#s", "#i", "#a"]


def test_the_import_keeps_unk_where_few_tokens_are_unknown_or_as_given(tmp_path: Any) -> None:
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.data.schema import read_schema

    src = _csv(str(tmp_path / "t.csv"))  # every word seen three times or more
    auto = import_data(src, str(tmp_path / "a"), text="text", label="label", progress=False)
    ainfo = read_schema(str(tmp_path / "a"))["info"]
    assert "pieces" not in ainfo["text"] and auto["chosen"]["pieces"] == {
        "value": 0,
        "why": "auto: 0.0% of the training tokens are outside the vocabulary (under 15%): "
        "each is [UNK]",
    }
    assert not any("#" in t and len(t) > 1 for t in ainfo["vocabulary"])
    assert _vectorize(ainfo, ["Raining"]) == [["⇧", "[UNK]"]]

    given = import_data(
        src, str(tmp_path / "g"), text="text", label="label", pieces=3, progress=False
    )
    info = read_schema(str(tmp_path / "g"))["info"]
    assert info["text"]["pieces"] == given["chosen"]["pieces"]["value"] == 3
    assert given["chosen"]["pieces"]["why"].startswith("given (--pieces 3); 0.0% of the")
    assert {"rai#", "#ny", "bre#", "#ad"} <= set(info["vocabulary"])
    assert info["vocabulary"].index("rain") < info["vocabulary"].index("rai#")  # words first
    # raining -> rai# #nin #g, breads -> bre# #ads: the pieces seen twice, [UNK] for the rest
    assert _vectorize(info, ["Raining breads"]) == [
        ["⇧", "rai#", "[UNK]", "[UNK]", "bre#", "[UNK]"]
    ]
    chars = import_data(
        src, str(tmp_path / "c"), text="text", label="label", tokens="character", progress=False
    )
    assert chars["chosen"]["pieces"]["value"] == 0


def test_pieces_with_character_tokens_or_a_series_are_refused(tmp_path: Any) -> None:
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.errors import UsageError

    src = _csv(str(tmp_path / "t.csv"))
    with pytest.raises(UsageError, match="pieces=3: pieces are parts of words"):
        import_data(
            src, str(tmp_path / "c"), text="text", label="label", tokens="character", pieces=3
        )
    with pytest.raises(UsageError, match="expected an integer >= 0, got -1"):
        import_data(src, str(tmp_path / "n"), text="text", label="label", pieces=-1)


def test_the_onnx_recipe_says_how_to_write_pieces() -> None:
    from keras_lstm_opt.serve.onnx_export import tokenize_usage

    usage = tokenize_usage({"text": {"split": "whitespace", "pieces": 3}})
    assert "pieces of 3 characters" in usage and "'люб#', '#овь', '#ю'" in usage
    assert "pieces" not in tokenize_usage({"text": {"split": "whitespace"}})
    spelled = tokenize_usage({"text": {"split": "whitespace", "pieces": 1}})
    assert "pieces of 1 characters" in spelled and "'л#', '#ю', '#б'" in spelled


def test_the_piece_length_follows_the_share_of_unknown_tokens() -> None:
    from keras_lstm_opt.data.pieces import piece_length

    assert piece_length(None, "auto", 0.15)[0] == 1 and piece_length(None, "word", 0.149)[0] == 0
    assert piece_length(None, "character", 0.9) == (
        0,
        "character tokens: every character is in the vocabulary already",
    )
    assert piece_length(2, "word", 0.176) == (
        2,
        "given (--pieces 2); 17.6% of the training tokens are outside the vocabulary",
    )


def test_tokens_left_out_of_the_counts_count_as_unknown() -> None:
    from keras_lstm_opt.data.pieces import unknown_share

    counts = Counter({b"a": 3, b"b": 1})
    assert unknown_share(counts, ["", "[UNK]", "a"]) == 0.25
    assert unknown_share(counts, ["", "[UNK]", "a"], dropped=4) == 5 / 8  # 4 seen once, pruned
