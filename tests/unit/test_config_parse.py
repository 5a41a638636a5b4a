"""Where a config problem comes from: the file, the bundled config, or `--set`."""

import pytest

from keras_lstm_opt.config import load_config
from keras_lstm_opt.errors import ConfigError


@pytest.mark.parametrize("override", ["nosuch.key=1", "nosuch.deeper.key=1", "nosuch=1"])
def test_an_unknown_section_given_with_set_is_blamed_on_set(override):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert "--set: nosuch: unknown key" in str(info.value)


def test_a_value_made_a_mapping_by_set_is_blamed_on_set():
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.epochs.x=1"])
    assert "--set: train.epochs: expected an integer" in str(info.value)


def test_an_unknown_key_in_a_file_is_blamed_on_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("nosuch:\n  key: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), ["train.epochs=2"])
    assert "bad.yaml: nosuch: unknown key" in str(info.value)
    assert "--set" not in str(info.value)
