"""train.auto: the settings it decides from an imported data set, and those it leaves alone."""

from collections import Counter

import pytest

from keras_lstm_opt.config import load_config


def _imported_text_schema(examples: int, vocab: int, validation: bool = False) -> dict:
    splits = {"train": {"examples": examples}}
    if validation:
        splits["validation"] = {"examples": examples // 4}
    words = ["", "[UNK]", *(f"w{i}" for i in range(vocab - 2))]  # 2..5-grams: "<w", "w1", ...
    return {
        "task": "text",
        "splits": splits,
        "info": {
            "vocab_size": vocab,
            "num_classes": 5,
            "vocabulary": words,
            "text": {"max_length": 40, "length_mean": 12.0},
        },
    }


def test_train_auto_decides_from_the_data_and_leaves_given_keys():
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import LR, auto_settings

    cfg, decided = auto_settings(
        load_config(None), _imported_text_schema(12_000, 9_000, validation=True)
    )
    assert {k: d["value"] for k, d in decided.items()} == {
        "model.pooling": "max_mean",
        "model.input_dropout": 0.2,
        "model.embedding_dim": 64,
        "model.wide": True,
        "model.wide_dim": 64,
        "model.wide_buckets": 131072,  # 144,000 training tokens: the most, reported anyway
        "model.wide_subwords": 65536,  # 8,998 words: 29,305 distinct 2..5-grams
        "train.batch_size": 32,
        "train.learning_rate": 0.01,  # with the wide path
        "train.monitor": "val_accuracy",
    }
    assert (cfg.model.pooling, cfg.train.batch_size) == ("max_mean", 32)
    assert cfg.train.learning_rate == 0.01 and "hashed n-gram" in decided[LR]["why"]
    assert "character n-grams" in decided["model.wide_subwords"]["why"]
    assert "29,305 distinct ones (2..5 characters)" in decided["model.wide_subwords"]["why"]
    # character tokens have no words to take n-grams of
    chars = _imported_text_schema(12_000, 900)
    chars["info"]["text"]["split"] = "character"
    assert "model.wide_subwords" not in auto_settings(load_config(None), chars)[1]
    assert "375 steps per epoch" in decided["train.batch_size"]["why"]
    # a key set in the file or by --set stays, even when set to its default
    given = load_config(None, ["train.batch_size=128", "model.pooling=last", "model.wide=false"])
    cfg, decided = auto_settings(given, _imported_text_schema(12_000, 900, True), replicas=1)
    assert (cfg.train.batch_size, cfg.model.pooling, cfg.model.embedding_dim) == (128, "last", 32)
    assert set(decided) == {"model.input_dropout", "train.monitor"} and not cfg.model.wide
    assert cfg.model.wide_subwords == 0  # no wide path: no subwords either
    assert cfg.train.learning_rate == 0.003  # nor its learning rate
    given = load_config(None, ["train.learning_rate=0.001"])
    cfg, decided = auto_settings(given, _imported_text_schema(12_000, 900, True))
    assert cfg.train.learning_rate == 0.001 and LR not in decided and cfg.model.wide
    sgd = load_config(None, ["train.optimizer=sgd"])  # measured with Adam only
    cfg, decided = auto_settings(sgd, _imported_text_schema(12_000, 900, True))
    assert cfg.train.learning_rate == 0.003 and LR not in decided and cfg.model.wide
    # batch: 64 for a medium set, the default for a large one, divisible by the replicas
    _, decided = auto_settings(load_config(None), _imported_text_schema(50_000, 9_000), 3)
    assert decided["train.batch_size"]["value"] == 66
    _, decided = auto_settings(load_config(None), _imported_text_schema(500_000, 9_000))
    assert "train.batch_size" not in decided


def test_train_auto_sizes_the_wide_tables_from_the_data():
    """A small corpus gets small hashed tables (fewer rows to update and save); a
    large one the most; a size the user gives stays."""
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import FEWEST_SLOTS, MOST_SLOTS, auto_settings, slots_for

    assert [slots_for(n) for n in (0, 2048, 2049, 12_568, 65_536, 10**9)] == [
        FEWEST_SLOTS,
        4096,
        8192,
        32768,
        MOST_SLOTS,
        MOST_SLOTS,
    ]
    small = _imported_text_schema(800, 300, validation=True)  # 9,600 tokens, 298 words
    cfg, decided = auto_settings(load_config(None), small)
    assert (cfg.model.wide_buckets, cfg.model.wide_subwords) == (32768, 4096)
    why = decided["model.wide_buckets"]["why"]
    assert "9,600 training tokens (the import did not count the distinct pairs" in why
    assert "at most 9,600 distinct token pairs" in why
    small["info"]["text"]["pairs"] = 3000  # counted by the import: the tighter figure
    cfg, decided = auto_settings(load_config(None), small)
    assert (cfg.model.wide_buckets, cfg.model.wide_dim) == (8192, 64)
    assert "3,000 distinct token pairs in the training rows" in decided["model.wide_buckets"]["why"]
    small["info"]["text"]["pairs"] = 0  # one-token texts: no pairs to hash, not "unknown"
    assert auto_settings(load_config(None), small)[0].model.wide_buckets == FEWEST_SLOTS
    small["info"]["text"]["pairs"] = 3000
    given = load_config(None, ["model.wide_buckets=512", "model.wide_dim=16"])
    cfg, decided = auto_settings(given, small)
    assert (cfg.model.wide_buckets, cfg.model.wide_dim) == (512, 16)
    assert not {"model.wide_buckets", "model.wide_dim"} & set(decided)
    cfg, decided = auto_settings(load_config(None, ["model.wide_ngrams=1"]), small)
    assert "model.wide_buckets" not in decided  # a bag of tokens alone hashes nothing
    del small["info"]["text"]["pairs"]
    trigrams = load_config(None, ["model.wide_ngrams=3", "model.wide_subwords=1024"])
    cfg, decided = auto_settings(trigrams, small)
    assert (cfg.model.wide_buckets, cfg.model.wide_subwords) == (65536, 1024)
    assert "model.wide_subwords" not in decided  # given: kept
    cfg, decided = auto_settings(load_config(None, ["model.wide=false"]), small)
    assert (cfg.model.wide_buckets, cfg.model.wide_subwords, cfg.model.wide_dim) == (131072, 0, 32)
    assert not {"model.wide_buckets", "model.wide_subwords", "model.wide_dim"} & set(decided)


def test_train_auto_is_off_for_embedded_data_and_when_asked():
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import auto_settings

    embedded = {
        "task": "text",
        "splits": {"train": {"examples": 1000}},
        "info": {"vocab_size": 64, "num_classes": 4},
    }
    assert auto_settings(load_config(None), embedded)[1] == {}
    off = load_config(None, ["train.auto=false"])
    assert auto_settings(off, _imported_text_schema(1000, 5000))[1] == {}
    forecast = {"task": "forecast", "info": {"text": {}}}
    assert auto_settings(load_config(None), forecast)[1] == {}


def test_train_auto_keeps_what_a_caller_sets_on_a_config_built_in_code():
    from keras_lstm_opt.config import ExperimentConfig, ModelConfig
    from keras_lstm_opt.config.auto import auto_settings
    from keras_lstm_opt.experiment import _as_config
    from keras_lstm_opt.tuning.search import trial_config

    schema = _imported_text_schema(12_000, 9_000)
    built = ExperimentConfig(model=ModelConfig(embedding_dim=48))
    cfg = _as_config(built, ["model.pooling=last", "train={batch_size: 128}"])
    cfg, decided = auto_settings(cfg, schema)
    assert (cfg.model.pooling, cfg.model.embedding_dim, cfg.train.batch_size) == ("last", 48, 128)
    # no validation: monitor stays
    assert set(decided) == {
        "model.input_dropout",
        "model.wide",
        "model.wide_dim",
        "model.wide_buckets",
        "model.wide_subwords",
        "train.learning_rate",
    }
    assert decided["model.wide_subwords"]["value"] == 65536
    # a tuning trial: the searched keys and the base config's are kept, the rest decided
    trial = trial_config(load_config(None, ["model.units=32"]), {"model.embedding_dim": 16}, 2)
    trial, decided = auto_settings(
        trial,
        {**schema, "splits": {"train": {"examples": 12_000}, "validation": {"examples": 3_000}}},
    )
    assert (trial.model.embedding_dim, trial.model.units, trial.model.pooling) == (
        16,
        32,
        "max_mean",
    )
    assert decided["train.monitor"]["value"] == "val_accuracy"


def test_train_auto_buckets_spread_lengths_at_their_deciles_unless_pad_is_given():
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import auto_settings
    from keras_lstm_opt.data.import_text import length_stats

    # lengths as fortune cookies have them: most short, a long tail cut at 105
    hist = Counter({5: 300, 9: 300, 14: 200, 20: 100, 40: 50, 80: 30, 300: 20})
    stats = length_stats(hist, 105)
    assert stats["length_deciles"] == [5, 5, 5, 9, 9, 9, 14, 14, 20]
    assert stats["length_mean"] == pytest.approx(
        (5 * 300 + 9 * 300 + 14 * 200 + 20 * 100 + 40 * 50 + 80 * 30 + 105 * 20) / 1000
    )
    schema = _imported_text_schema(12_000, 900)
    schema["info"]["text"] = {"max_length": 105, **stats}
    cfg, decided = auto_settings(load_config(None), schema)
    assert (cfg.data.batching, cfg.data.bucket_boundaries) == ("bucket", [6, 10, 15, 21])
    assert "cut at 105" in decided["data.batching"]["why"]
    # the user's own batching, pad or bucket boundaries, stays
    cfg, decided = auto_settings(load_config(None, ["data.batching=pad"]), schema)
    assert cfg.data.batching == "pad" and not cfg.data.bucket_boundaries
    assert not {"data.batching", "data.bucket_boundaries"} & set(decided)
    cfg, _ = auto_settings(load_config(None, ["data.bucket_boundaries=[8,30]"]), schema)
    assert (cfg.data.batching, cfg.data.bucket_boundaries) == ("bucket", [8, 30])
    # evenly long texts: nothing to gain, padding stays
    schema["info"]["text"] = {"max_length": 12, **length_stats(Counter({10: 5, 12: 5}), 12)}
    assert "data.batching" not in auto_settings(load_config(None), schema)[1]


def test_train_auto_on_a_tiny_set_takes_smaller_batches_and_more_patience():
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import auto_settings

    cfg, decided = auto_settings(load_config(None), _imported_text_schema(1_500, 900, True))
    assert (cfg.train.batch_size, cfg.train.early_stopping_patience) == (16, 6)
    assert "375 validation examples" in decided["train.early_stopping_patience"]["why"]
    cfg, _ = auto_settings(
        load_config(None, ["train.early_stopping_patience=2"]),
        _imported_text_schema(1_500, 900, True),
    )
    assert cfg.train.early_stopping_patience == 2


def test_config_show_resolved_is_what_train_writes(tmp_path):
    """`config show --resolved` before training equals the run's config.yaml after it,
    train.auto's choices marked with their reasons."""
    import subprocess

    import yaml

    from benchmarks.corpora import write_wordnet
    from keras_lstm_opt.data.importer import import_data

    from ..conftest import console_script

    src = str(tmp_path / "w.csv")
    write_wordnet(src, rows=300, seed=5)
    data = str(tmp_path / "data")
    import_data(src, data, text="text", label="label", progress=False)
    sets = ["--set", "train.epochs=1", "--set", "model.lstm=keras", "--set", "train.verbose=silent"]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [console_script(), *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
        )

    shown = cli("config", "show", "--resolved", "--data", "data", *sets)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "# auto: " in shown.stdout and "(was " in shown.stdout
    run = cli("train", "--set", "data.path=data", *sets, "--run-dir", "run")
    assert run.returncode == 0, run.stderr[-2000:]
    assert yaml.safe_load(shown.stdout) == yaml.safe_load(
        (tmp_path / "run" / "config.yaml").read_text()
    )
    bad = cli("config", "show", "--resolved", "--set", "train.epochs=-1")
    assert bad.returncode == 2 and "train.epochs" in bad.stderr and "Traceback" not in bad.stderr
    stray = cli("config", "show", "text", "--set", "train.epochs=2")
    assert stray.returncode == 2 and "go with --resolved" in stray.stderr


def _imported_series_schema(windows: int, window: int) -> dict:
    return {
        "task": "forecast",
        "splits": {"train": {"examples": windows}, "validation": {"examples": 20}},
        "info": {"window": window, "horizon": 6, "series": {"transform": "diff", "lag": 1}},
    }


def test_train_auto_for_a_series_keeps_the_linear_path_only_with_enough_windows():
    from keras_lstm_opt import load_config
    from keras_lstm_opt.config.auto import WIDE_WINDOWS_PER_STEP, auto_settings

    # 5 windows per window step or more: the linear autoregression beside the LSTM
    cfg, decided = auto_settings(load_config(None), _imported_series_schema(400, 36))
    assert cfg.model.wide and decided["model.wide"]["value"] is True
    assert decided["model.wide"]["why"].endswith(
        "(400 training windows: 11.1 per window step, at least 5)"
    )
    assert (cfg.train.batch_size, cfg.train.epochs) == (16, 120)  # 25 steps an epoch
    # fewer (wineind: 47 windows of 36 steps): the LSTM alone, and the reason says why
    edge = WIDE_WINDOWS_PER_STEP * 36
    for windows, wide in ((edge, True), (edge - 1, False), (47, False)):
        cfg, decided = auto_settings(load_config(None), _imported_series_schema(windows, 36))
        assert cfg.model.wide is wide, windows
    assert (
        "47 training windows for a linear autoregression on 36 steps"
        in (decided["model.wide"]["why"])
    )
    # the user's choice stays
    cfg, decided = auto_settings(
        load_config(None, ["model.wide=true"]), _imported_series_schema(47, 36)
    )
    assert cfg.model.wide and "model.wide" not in decided
    # shrinking toward the anchor: on for a series, with its reason; off when asked
    assert cfg.model.shrink and "models.shrink" in decided["model.shrink"]["why"]
    cfg, decided = auto_settings(
        load_config(None, ["model.shrink=false"]), _imported_series_schema(47, 36)
    )
    assert not cfg.model.shrink and "model.shrink" not in decided
