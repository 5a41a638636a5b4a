"""Script-aware tokens: each split (spaced English, unspaced Japanese and Chinese, and
English mixed with Japanese) imports, trains for one epoch, exports a SavedModel that
takes raw strings, and answers there (in a process that cannot import keras_lstm_opt) as
`predict` does here (words outside the vocabulary spelled, `pieces=1`); a forced word split on
unspaced text warns; old schemas still load.

The texts are hand-written weather and food sentences, as a user's corpus would hold.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from typing import Any

import numpy as np
import pytest

from ..conftest import REPO, console_script, time_limit

ENGLISH = {
    "weather": [
        "Heavy rain is expected across the region tomorrow afternoon.",
        "The morning started cold and foggy, but the sun came out by noon.",
        "A storm warning has been issued for the coast tonight.",
        "Temperatures will drop below freezing over the weekend.",
        "It has been dry for weeks and the farmers are waiting for rain.",
        "Strong winds knocked down several trees in the park.",
        "Snow is likely in the mountains, so check the roads before you drive.",
        "The forecast says clear skies and a light breeze for the whole week.",
        "Thunder and lightning kept us awake most of the night.",
        "The heat wave broke records in several cities yesterday.",
        "Bring an umbrella, the clouds look like rain.",
        "The first frost of the year covered the fields this morning.",
        "Humidity will stay high and showers are possible in the evening.",
        "A cold front will bring cooler air from the north.",
        "The river flooded after three days of rain.",
        "Spring weather has been mild with plenty of sunshine.",
    ],
    "food": [
        "This soup is made with fresh tomatoes, garlic and basil.",
        "We ordered pizza with mushrooms and extra cheese.",
        "Her apple pie has a crisp crust and a sweet filling.",
        "The restaurant serves grilled fish with rice and vegetables.",
        "I had porridge with honey and berries for breakfast.",
        "Bake the bread for forty minutes until it is golden.",
        "The curry was spicy, so we drank plenty of water.",
        "Fresh pasta cooks in only two or three minutes.",
        "He made a salad with lettuce, cucumber and olive oil.",
        "The chocolate cake was rich and not too sweet.",
        "Slice the onions thinly and fry them in butter.",
        "We tried the noodles at the market and they were delicious.",
        "Roast the chicken with lemon and rosemary.",
        "A cup of coffee and a croissant is my favourite breakfast.",
        "The cheese from this farm has a strong, nutty flavour.",
        "Stir the sauce slowly so that it does not burn.",
    ],
}
JAPANESE = {
    "weather": [
        "今日は朝から雨が降っていて、傘が手放せません。",
        "明日の東京は晴れ、最高気温は二十八度の予想です。",
        "台風が近づいているので、午後から風が強くなるでしょう。",
        "北海道では今朝、初雪が観測されました。",
        "梅雨明けはまだ先になりそうです。",
        "週末は全国的に気温が下がり、冬の寒さになります。",
        "雷を伴った激しい雨に注意してください。",
        "空気が乾燥しているので、火の取り扱いに気をつけましょう。",
        "夕方から雲が広がり、夜には雪に変わるところもあります。",
        "昨日は猛暑日で、熱中症で運ばれた人が多くいました。",
        "桜の開花は例年より一週間ほど早い見込みです。",
        "霧が濃いので、車の運転には十分注意してください。",
        "今夜は星がよく見える、雲のない静かな夜になりそうです。",
        "大雨の影響で、一部の電車が運転を見合わせています。",
        "朝晩は冷え込むので、上着を一枚持っていくと安心です。",
        "今年の夏は例年より雨が少なく、水不足が心配されています。",
    ],
    "food": [
        "この店のラーメンはスープが濃厚でとてもおいしいです。",
        "母が作る味噌汁には、いつも豆腐とわかめが入っています。",
        "新鮮な魚を使ったお寿司を食べに行きました。",
        "カレーライスは子どもから大人まで人気のある料理です。",
        "天ぷらはサクサクに揚げるのがこつです。",
        "朝ごはんにご飯と納豆と焼き魚を食べました。",
        "駅前に新しいパン屋ができて、毎朝行列ができています。",
        "抹茶のアイスクリームは甘さ控えめで上品な味です。",
        "週末に友達とお好み焼きを作ってみました。",
        "うどんは冷たいのも温かいのもどちらも好きです。",
        "このケーキはいちごがたっぷりのっていて見た目もきれいです。",
        "焼き鳥屋で塩とたれを一本ずつ注文しました。",
        "お弁当には卵焼きと唐揚げを入れました。",
        "鍋料理は寒い日に家族で囲むのが一番です。",
        "餃子を皮から手作りすると、とてもおいしくできます。",
        "コーヒーを飲みながら、ゆっくりとチョコレートを味わいました。",
    ],
}
CHINESE = {
    "weather": [
        "今天北京天气晴朗，最高气温二十五度。",
        "明天下午有雷阵雨，出门记得带伞。",
        "台风即将登陆，沿海地区要做好防范。",
        "这几天空气质量很差，尽量减少户外活动。",
        "今年冬天特别冷，河面都结冰了。",
        "南方进入梅雨季节，连续下了一个星期的雨。",
        "早晚温差大，注意及时增减衣服。",
        "气象台发布了暴雨黄色预警。",
        "周末天气转好，适合去公园散步。",
        "昨晚下了一场大雪，路面非常滑。",
        "受冷空气影响，气温将下降八到十度。",
        "夏天的中午太阳很晒，要注意防暑。",
        "大雾导致高速公路暂时封闭。",
        "春天到了，天气渐渐暖和起来。",
        "这场雨来得很突然，很多人都被淋湿了。",
        "今天风很大，骑自行车很费劲。",
    ],
    "food": [
        "这家饭馆的红烧肉做得特别好吃。",
        "妈妈包的饺子是我最喜欢的食物。",
        "北京烤鸭皮脆肉嫩，非常有名。",
        "我早饭喝了一碗豆浆，吃了两根油条。",
        "四川菜以麻辣著称，很多人都爱吃火锅。",
        "周末我们在家做了西红柿炒鸡蛋。",
        "这碗牛肉面汤很鲜，面条也很筋道。",
        "中秋节的时候家家户户都吃月饼。",
        "广东人喜欢喝早茶，吃点心。",
        "米饭煮得太软了，下次少放点水。",
        "这道清蒸鱼做法简单，味道鲜美。",
        "夏天喝一杯冰镇绿豆汤很解暑。",
        "小笼包里面有很多汤汁，要小心烫嘴。",
        "他每天中午都在公司食堂吃饭。",
        "这家店的奶茶很甜，排队的人很多。",
        "我学会了做宫保鸡丁，家人都说好吃。",
    ],
}
CORPORA = {"spaced": [ENGLISH], "unspaced": [JAPANESE, CHINESE], "mixed": [ENGLISH, JAPANESE]}
SPLIT = {"spaced": "whitespace", "unspaced": "words+chars", "mixed": "words+chars"}
PROBES = {
    "spaced": [
        "Rain and strong wind tonight.",
        "We baked fresh bread with honey.",
        "zzqx unknownword",
        "!!!",
        "Rainfall tomorrow",
    ],
    "unspaced": [
        "明日は雨が降るでしょう。",
        "ラーメンとお寿司を食べました。",
        "今天天气很好，适合散步。",
        "我喜欢吃饺子和面条。",
        "東京　大阪",
        "。。。",
    ],
    "mixed": [
        "Tokyo の天気は晴れです",
        "rain が降ってきた",
        "ケーキ with chocolate",
        "A cold front brings snow.",
        "焼き魚とご飯の朝ごはん",
    ],
}
TINY = [
    "model.lstm=keras",
    "model.units=8",
    "train.epochs=1",
    "train.batch_size=16",
    "train.verbose=silent",
    "data.deterministic=true",
    "data.cache=none",
    "train.early_stopping_patience=0",
]
SCRIPT = os.path.join(REPO, "tests", "scripts", "load_saved_model.py")


def _write(path: str, corpora: list[dict[str, list[str]]]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for corpus in corpora:
            for label, texts in corpus.items():
                writer.writerows((t, label) for t in texts)
    return path


def _stored(out: str) -> Counter[tuple[int, ...]]:
    import tensorflow as tf

    from keras_lstm_opt.data.schema import read_schema

    schema = read_schema(out)
    files = [os.path.join(out, f) for s in schema["splits"].values() for f in s["files"]]
    return Counter(
        tuple(tf.train.Example.FromString(r.numpy()).features.feature["tokens"].int64_list.value)
        for r in tf.data.TFRecordDataset(files, "GZIP")
    )


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each path imported (tokens auto), trained one epoch, exported; then every
    SavedModel called on the probes in one process without keras_lstm_opt."""
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.export import export_run

    root = str(tmp_path_factory.mktemp("tokens"))
    out: dict[str, Any] = {"root": root}
    requests = []
    for name, corpora in CORPORA.items():
        src = _write(os.path.join(root, f"{name}.csv"), corpora)
        data, run = os.path.join(root, f"{name}-data"), os.path.join(root, f"{name}-run")
        # pieces=1: words outside the vocabulary spelled, through every path to the export
        report = import_data(src, data, text="text", label="label", pieces=1, progress=False)
        fit(None, run_dir=run, overrides=[*TINY, f"data.path={data}"])
        saved = export_run(
            run, "saved_model", os.path.join(root, f"{name}-sm"), check=name == "mixed"
        )  # its own check, once
        out[name] = {"src": src, "data": data, "run": run, "report": report, "saved_model": saved}
        requests.append(
            {
                "path": saved,
                "signature": "serving_default",
                "inputs": {"text": {"dtype": "string", "value": PROBES[name]}},
            }
        )
    with open(os.path.join(root, "requests.json"), "w", encoding="utf-8") as fh:
        json.dump(requests, fh, ensure_ascii=False)
    served = subprocess.run(
        [sys.executable, SCRIPT, os.path.join(root, "requests.json")],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        cwd=root,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert served.returncode == 0, served.stderr[-3000:]
    result = json.loads(served.stdout.strip().splitlines()[-1])
    assert result["modules"] == []
    for name, got in zip(CORPORA, result["results"], strict=True):
        out[name]["served"] = got
    return out


def test_auto_chooses_the_split_from_the_scripts_and_says_why(paths: dict[str, Any]) -> None:
    from keras_lstm_opt.data.schema import read_schema
    from keras_lstm_opt.data.text import UNSPACED

    for name, split in SPLIT.items():
        info = read_schema(paths[name]["data"])["info"]
        chosen = paths[name]["report"]["chosen"]["tokens"]
        assert info["text"]["split"] == chosen["value"] == split, name
        assert chosen["why"].startswith("auto: ") and "without spaces" in chosen["why"]
        assert "warnings" not in paths[name]["report"]
        single = [
            t
            for t in info["vocabulary"]  # letters, not ⇧ or punctuation
            if len(t) == 1 and not t.isascii() and t.isalpha()
        ]
        assert bool(single) == (split == "words+chars"), name
    assert (
        "auto: 0.0% of the training characters"
        in paths["spaced"]["report"]["chosen"]["tokens"]["why"]
    )
    why = paths["unspaced"]["report"]["chosen"]["tokens"]["why"]
    assert "Han" in why and "Hiragana" in why and "in the vocabulary" in why
    vocab = read_schema(paths["unspaced"]["data"])["info"]["vocabulary"]
    assert {"雨", "天", "気", "の", "は", "ー"} <= set(vocab)
    # a mixed corpus keeps English words whole next to the characters
    mixed = set(read_schema(paths["mixed"]["data"])["info"]["vocabulary"])
    assert {"rain", "the", "雨", "の", "ー"} <= mixed
    assert not any(len(t) > 1 and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in mixed), (
        "a CJK token of more than one character"
    )
    assert UNSPACED.startswith("[\\p{Han}")


@pytest.mark.parametrize("name", list(CORPORA))
def test_stored_ids_are_what_predict_makes(name: str, paths: dict[str, Any]) -> None:
    from keras_lstm_opt.data.schema import read_schema
    from keras_lstm_opt.data.text import encode_texts

    info = read_schema(paths[name]["data"])["info"]
    texts = [t for corpus in CORPORA[name] for v in corpus.values() for t in v]
    made = Counter(tuple(int(v) for v in row if v) for row in encode_texts(info, texts))
    assert made == _stored(paths[name]["data"])


@pytest.mark.parametrize("name", list(CORPORA))
def test_saved_model_answers_as_predict(name: str, paths: dict[str, Any]) -> None:
    """The same probabilities and labels from the SavedModel (raw strings in, in a
    process without keras_lstm_opt) as from load_run(...).predict."""
    from keras_lstm_opt.serve.run import load_run

    run = load_run(paths[name]["run"])
    want = run.probabilities(PROBES[name])
    got = paths[name]["served"]
    np.testing.assert_allclose(np.asarray(got["probabilities"]), want, atol=1e-5)
    assert got["label"] == [g["label"] for g in run.predict(PROBES[name])]
    with open(os.path.join(paths[name]["saved_model"], "export.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["tokens"]["split"] == SPLIT[name]
    if name == "mixed":
        assert manifest["checked"]["max_difference"]["serving_default"] <= 1e-5
    if name == "spaced":  # "Rainfall", outside the vocabulary, is spelled
        vocab = run.info["vocabulary"]
        spelled = [vocab[i] for i in run.encode(["Rainfall"])[0] if i]
        assert spelled == ["⇧", "r#", "#a", "#i", "#n", "#f", "#a", "#l", "#l"]
    # the CJK probes really are several tokens each, not one
    if name != "spaced":
        assert (run.encode(PROBES[name][:2]) > 0).sum(axis=1).min() >= 5


def test_forced_word_split_on_unspaced_text_warns(
    paths: dict[str, Any], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from keras_lstm_opt.data.importer import import_data

    with caplog.at_level(logging.WARNING, logger="keras_lstm_opt"):
        report = import_data(
            paths["unspaced"]["src"],
            str(tmp_path / "word"),
            text="text",
            label="label",
            tokens="word",
            pieces=0,  # (auto would spell the unknown clauses letter by letter)
            progress=False,
        )
    (warning,) = report["warnings"]
    assert warning.startswith("100% of the training texts hold a run of over 4 characters")
    assert "--tokens words+chars" in warning
    lines = [r for r in caplog.records if "hold a run of over 4" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert report["chosen"]["tokens"]["value"] == "whitespace"
    # each clause one token, and its punctuation (、 。) one more
    assert report["chosen"]["max_length"]["value"] <= 5
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="keras_lstm_opt"):
        spaced = import_data(
            paths["spaced"]["src"],
            str(tmp_path / "en"),
            text="text",
            label="label",
            tokens="word",
            progress=False,
        )
    assert "warnings" not in spaced and "hold a run" not in caplog.text


def test_splits_token_by_token() -> None:
    import tensorflow as tf

    from keras_lstm_opt.data.text import make_tokenizer, make_vectorizer

    tokenize = make_tokenizer("words+chars")
    cases = {
        "東京に行きました. Tokyo!": "東 京 に 行 き ま し た tokyo",
        "今天天气很好，适合散步。": "今 天 天 气 很 好 ， 适 合 散 步 。",
        "コーヒーを飲む": "コ ー ヒ ー を 飲 む",
        "hello　日本": "hello 日 本",  # an ideographic space separates
        "한국어 문장입니다": "한국어 문장입니다",  # Hangul is written with spaces: words
        "ที่นี่\u200bคือ": "ที่ นี่ คื อ",  # Thai: a character with its marks
        "Ünïcode wörds 42": "Ünïcode wörds 42",
    }
    got = tokenize(tf.constant(list(cases))).to_list()
    assert [" ".join(t.decode() for t in row) for row in got] == list(cases.values())
    english = ["A small, domesticated mammal!", "rain; snow and   wind"]
    assert (
        tokenize(tf.constant(english)).to_list()
        == make_tokenizer("word")(tf.constant(english)).to_list()
    )
    vocab = ["", "[UNK]", "東", "京", "tokyo", "ー"]
    ids = make_vectorizer({"vocabulary": vocab, "text": {"split": "words+chars"}})(
        tf.constant(["東京に tokyo", "コーヒー"])
    ).to_list()
    assert ids == [[2, 3, 1, 4], [1, 5, 1, 5]]


def test_old_schemas_load_unchanged(paths: dict[str, Any]) -> None:
    """A schema as earlier versions wrote it ("whitespace" or "character", nothing new)
    gives the ids it always gave; a split this version does not know is refused."""
    from keras_lstm_opt.data.text import encode_texts
    from keras_lstm_opt.errors import DataError

    vocab = ["", "[UNK]", "the", "rain", "東京に行きました"]
    old = {
        "vocabulary": vocab,
        "text": {
            "split": "whitespace",
            "max_length": 5,
            "standardize": "lower_and_strip_punctuation",
        },
    }
    texts = ["The rain, the RAIN!", "東京に行きました", "東京 に", "x y z the rain the"]
    assert encode_texts(old, texts).tolist() == [
        [2, 3, 2, 3, 0],
        [4, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 2, 3],
    ]
    chars = {"vocabulary": ["", "[UNK]", "a", " ", "雨"], "text": {"split": "character"}}
    assert encode_texts(chars, ["a 雨!"]).tolist() == [[2, 3, 4]]
    with pytest.raises(DataError, match="info.text.split: 'sentencepiece' is not one of"):
        encode_texts({**old, "text": {"split": "sentencepiece"}}, texts)


def test_cli_takes_the_new_tokens(paths: dict[str, Any], tmp_path: Any) -> None:
    """`data import --tokens` takes auto (the default) and words+chars, and refuses
    others at once (argparse, before TensorFlow)."""
    from keras_lstm_opt.cli.app import _parser
    from keras_lstm_opt.cli.user_data import _check_import

    base = ["data", "import", paths["spaced"]["src"], "--text", "text", "--label", "label"]
    for given, want in [
        ([], "auto"),
        (["--tokens", "words+chars"], "words+chars"),
        (["--tokens", "auto"], "auto"),
    ]:
        args = _parser().parse_args([*base, "--out", str(tmp_path / want), *given])
        assert args.tokens == want
        _check_import(args)
    proc = subprocess.run(
        [console_script(), *base, "--out", str(tmp_path / "x"), "--tokens", "kanji"],
        capture_output=True,
        text=True,
        timeout=time_limit(60),
    )
    assert proc.returncode == 2
    assert "'auto', 'word', 'character', 'words+chars'" in proc.stderr
