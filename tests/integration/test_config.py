import glob
import os

import pytest

from keras_lstm_opt.config import (
    ConfigError,
    ExperimentConfig,
    config_from_dict,
    load_config,
    save_config,
)
from keras_lstm_opt.errors import Problem

from ..conftest import REPO

BAD = os.path.join(REPO, "tests", "data", "bad.yaml")


def test_default_yaml_matches_builtin_defaults():
    assert load_config(os.path.join(REPO, "configs", "default.yaml")) == ExperimentConfig()
    assert load_config(None) == ExperimentConfig()


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "configs", "*.yaml"))))
def test_every_bundled_config_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)


def test_bad_config_reports_every_problem_with_key_and_file():
    with pytest.raises(ConfigError) as info:
        load_config(BAD)
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == 5, text
    assert all(str(p).startswith(BAD + ": ") and p.source == BAD for p in problems)
    assert "model.unts: unknown key (did you mean 'units'?)" in text
    assert "model.layers: expected an integer, got str 'two'" in text
    assert "model.units: must be >= 1, got -3" in text
    assert "data.path: no such directory" in text and "/nonexistent/shards" in text
    assert "train.reduce_lr_on_plateau: cannot be combined with schedule: cosine" in text


def test_overrides_are_typed_and_named():
    cfg = load_config(
        None,
        [
            "train.epochs=3",
            "model.units=[32, 16]",
            "model.layers=2",
            "model.bidirectional=true",
            "train.clipnorm=null",
            "train.global_clipnorm=null",
        ],
    )
    assert cfg.train.epochs == 3 and cfg.model.units == [32, 16] and cfg.model.bidirectional
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.epochs=zero", "train.bogus=1"])
    assert "--set: train.epochs: expected an integer, got str 'zero'" in str(info.value)
    assert "--set: train.bogus: unknown key" in str(info.value)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(None, ["train.epochs"])


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"model": {"units": [8, 8, 8], "layers": 2}}, "model.units: has 3 entries"),
        ({"model": {"merge_mode": "avg"}}, "model.merge_mode: expected one of"),
        ({"model": {"activation": "tanhh"}}, "model.activation: unknown activation 'tanhh'"),
        ({"model": {"kernel_initializer": "xavier"}}, "unknown initializer 'xavier'"),
        ({"model": {"dropout": 1.5}}, "model.dropout: must be <= 0.95"),
        ({"model": {"regularizers": {"kernel": {"l2": -1}}}}, "model.regularizers.kernel.l2"),
        ({"data": {"batching": "bucket"}}, "data.bucket_boundaries: batching: bucket needs"),
        ({"data": {"batching": "bucket", "bucket_boundaries": [8, 4]}}, "strictly increasing"),
        (
            {"data": {"task": "forecast", "batching": "bucket", "bucket_boundaries": [4]}},
            "data.batching: forecast windows",
        ),
        ({"data": {"validation_path": "/tmp"}}, "data.validation_path: set data.path too"),
        ({"train": {"learning_rate": 0}}, "train.learning_rate: must be > 0.0"),
        ({"train": {"warmup_steps": 10}}, "train.warmup_steps: warm-up is part of"),
        ({"train": {"clipnorm": 1.0}}, "only one of clipnorm, global_clipnorm, clipvalue"),
        ({"train": {"monitor": "val_mae"}}, "train.monitor: 'val_mae' is not a metric"),
        ({"train": {"epochs": True}}, "train.epochs: expected an integer, got bool True"),
        ({"train": {"precision": "fp16"}}, "train.precision: expected one of"),
        ({"distribute": {"strategy": "tpu"}}, "distribute.strategy: expected one of"),
        (
            {"distribute": {"gradient_compression": "bfloat16"}},
            "distribute.gradient_compression: expected one of",
        ),
        (
            {
                "distribute": {"gradient_compression": "float16"},
                "train": {"precision": "mixed_float16"},
            },
            "loss-scaled gradients",
        ),
        ({"distribute": {"embedding_exchange": "dense"}}, "lazy embedding updates need the rows"),
        ({"profile": {"links": ["1gbps"]}}, "profile.links[0]: '1gbps' is not a rate"),
        ({"profile": {"workers": [2, 0]}}, "profile.workers[1]: 0: a worker count"),
        ({"modle": {}}, "modle: unknown key (did you mean 'model'?)"),
        ({"model": 3}, "model: expected a mapping"),
    ],
)
def test_each_mistake_has_its_message(raw, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, "x.yaml")
    assert message in str(info.value)
    assert "x.yaml: " in str(info.value)


def test_remote_paths_are_not_checked_locally():
    cfg = config_from_dict({"data": {"path": "s3://bucket/shards/train-*"}})
    assert cfg.data.path.startswith("s3://")


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(str(tmp_path / "missing.yaml"))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(str(scalar))


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text("train:\n  epochs: 3\n  batch_size: 64\n  epochs: 4\n")
    with pytest.raises(ConfigError, match=r"twice.yaml: not valid YAML: key 'epochs' given twice "
                       r"\(lines 2 and 4\); keep one"):  # fmt: skip
        load_config(str(twice))
    for path in glob.glob(os.path.join(REPO, "configs", "*.yaml")):  # the bundled ones too
        load_config(path)


def test_save_and_reload_round_trip(tmp_path):
    cfg = load_config(os.path.join(REPO, "configs", "text.yaml"), ["train.epochs=2"])
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(str(tmp_path / "c.yaml")) == cfg


def test_loading_a_config_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, keras_lstm_opt; keras_lstm_opt.load_config(None); "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_exponent_numbers_without_a_dot_are_numbers():
    """YAML 1.1 reads `1e-3` as a string; in a float field it means 0.001."""
    cfg = load_config(None, ["train.learning_rate=1e-3", "train.weight_decay=5E-5"])
    assert cfg.train.learning_rate == 0.001 and cfg.train.weight_decay == 5e-5
    with pytest.raises(ConfigError, match="expected a number, got str 'fast'"):
        load_config(None, ["train.learning_rate=fast"])


def test_problems_are_records_with_key_source_and_message(tmp_path):
    """ConfigError.problems are Problem records: consumers read .key/.source/.message."""
    bad = tmp_path / "typed.yaml"
    bad.write_text("model:\n  layers: two\ntrain:\n  warmup_steps: 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(bad), ["train.epochs=zero", "tune.space={model.units: {choice: []}}"])
    problems = info.value.problems
    assert all(isinstance(p, Problem) for p in problems), problems
    by_key = {p.key: p for p in problems}
    assert set(by_key) == {
        "model.layers",
        "train.epochs",
        "train.warmup_steps",
        "tune.space.model.units",
    }
    assert by_key["model.layers"] == Problem(
        "model.layers", "expected an integer, got str 'two'", str(bad)
    )
    assert by_key["train.epochs"] == Problem(
        "train.epochs", "expected an integer, got str 'zero'", "--set"
    )
    assert by_key["train.warmup_steps"].source == str(bad)  # a cross-key check's source
    assert by_key["tune.space.model.units"].source == "--set"  # the parent key's --set
    assert by_key["tune.space.model.units"].message == "empty choice: give at least one value"
    # the printed message is the records, one a line, as "source: key: message"
    assert f"  - {bad}: model.layers: expected an integer, got str 'two'" in str(info.value)
    assert "  - --set: train.epochs: expected an integer, got str 'zero'" in str(info.value)


def test_problems_of_a_whole_file_or_override_have_no_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.epochs"])
    (problem,) = info.value.problems
    assert problem == Problem("", "expected KEY=VALUE, e.g. train.epochs=3", "--set 'train.epochs'")
    assert str(problem) == "--set 'train.epochs': expected KEY=VALUE, e.g. train.epochs=3"
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "missing.yaml"))
    assert [(p.key, p.source) for p in info.value.problems] == [
        ("", str(tmp_path / "missing.yaml"))
    ]


def test_bundled_configs_are_found_by_name():
    """keras_lstm_opt/configs (package data) sits beside the keras_lstm_opt.config package."""
    from keras_lstm_opt.config import BUNDLED_DIR, bundled_configs, config_path

    assert os.path.samefile(BUNDLED_DIR, os.path.join(REPO, "configs"))
    assert {"default", "text", "forecast"} <= set(bundled_configs())
    assert config_path("text") == os.path.join(BUNDLED_DIR, "text.yaml")
    assert load_config("text.yaml") == load_config(os.path.join(REPO, "configs", "text.yaml"))


def test_the_task_comes_from_the_data_schema_not_data_task(tmp_path):
    """`--set data.path=DIR` needs no data.task: an imported series is scored by val_mae
    even though data.task defaults to text; a monitor the data cannot report is named."""
    import json

    (tmp_path / "schema.json").write_text(json.dumps({"task": "forecast"}))
    cfg = config_from_dict({"data": {"path": str(tmp_path)}, "train": {"monitor": "val_mae"}})
    assert cfg.data.task == "text" and cfg.train.monitor == "val_mae"
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {"data": {"path": str(tmp_path)}, "train": {"monitor": "val_accuracy"}}, "x.yaml"
        )
    assert "'val_accuracy' is not a metric of task 'forecast' (from " in str(info.value)
    assert "schema.json" in str(info.value)
