import keras
import numpy as np
import pytest

from keras_lstm_opt.config import ModelConfig, RegularizerConfig, RegularizersConfig
from keras_lstm_opt.data.schema import DataError, read_schema
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.heads import head_for


def _text_schema(classes=4):
    return {
        "inputs": "tokens",
        "target": "label",
        "compression": "GZIP",
        "features": {
            "tokens": {"dtype": "int64", "shape": [None]},
            "label": {"dtype": "int64", "shape": []},
        },
        "info": {"vocab_size": 20, "num_classes": classes},
    }


def test_heads_follow_the_target(forecast_dir):
    assert head_for(_text_schema(2)).kind == "binary"
    assert head_for(_text_schema(5)).units == 5
    assert head_for(read_schema(forecast_dir)).kind == "regression"
    with pytest.raises(DataError, match="num_classes"):
        head_for(_text_schema(1))


@pytest.mark.parametrize("merge_mode, width", [("concat", 16), ("sum", 8), ("ave", 8), ("mul", 8)])
def test_bidirectional_stack_shapes(merge_mode, width):
    cfg = ModelConfig(
        layers=2,
        units=[6, 8],
        bidirectional=True,
        merge_mode=merge_mode,
        dropout=0.2,
        pooling="mean",
    )
    model = build_model(cfg, _text_schema())
    assert model.get_layer("bidirectional_1").output.shape[-1] == width
    assert model.get_layer("dropout_0") is not None
    x = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]])
    assert model(x).shape == (2, 4)


def test_mask_is_respected_right_padding_changes_nothing():
    model = build_model(ModelConfig(units=8), _text_schema())
    short = np.array([[3, 4, 5]])
    padded = np.array([[3, 4, 5, 0, 0, 0]])
    np.testing.assert_allclose(model(short), model(padded), atol=1e-6)


def test_regularizers_initializers_and_dropout_reach_the_layers():
    reg = RegularizersConfig(
        kernel=RegularizerConfig(l2=0.01),
        recurrent=RegularizerConfig(l1=0.001),
        activity=RegularizerConfig(l2=0.001),
    )
    cfg = ModelConfig(
        units=8,
        regularizers=reg,
        kernel_initializer="xavier_uniform",
        recurrent_initializer="orthogonal",
        unit_forget_bias=False,
        input_dropout=0.1,
        recurrent_dropout=0.2,
    )
    model = build_model(cfg, _text_schema())
    lstm = model.get_layer("lstm_0")
    assert isinstance(lstm.cell.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(lstm.cell.recurrent_initializer, keras.initializers.Orthogonal)
    assert lstm.cell.dropout == 0.1 and lstm.cell.recurrent_dropout == 0.2
    assert not lstm.cell.unit_forget_bias
    model(np.array([[3, 4, 5]]))
    assert len(model.losses) == 3  # kernel, recurrent and activity penalties
    assert lstm.cell.kernel_regularizer.get_config()["l2"] == pytest.approx(0.01)


def test_forecast_model_and_mixed_precision(forecast_dir):
    schema = read_schema(forecast_dir)
    model = build_model(ModelConfig(units=8), schema, precision="mixed_float16")
    assert model.get_layer("lstm_0").compute_dtype == "float16"
    out = model(np.zeros((2, 48, 3), dtype="float32"))
    assert out.shape == (2, 12) and out.dtype == "float32"


def test_saved_model_round_trip(tmp_path):
    model = build_model(ModelConfig(units=8, bidirectional=True), _text_schema())
    x = np.array([[3, 4, 5, 0]])
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(model(x), again(x), atol=1e-6)


def test_every_public_name_resolves():
    import keras_lstm_opt

    for name in keras_lstm_opt.__all__:
        assert getattr(keras_lstm_opt, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        keras_lstm_opt.nope  # noqa: B018
