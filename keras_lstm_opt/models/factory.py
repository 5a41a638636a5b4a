"""Build stacked LSTM / BiLSTM models from a `ModelConfig` and a dataset schema.

Token inputs go through an `Embedding` with `mask_zero=True` (the pipeline pads on
the right, the one masking form cuDNN accepts); dense feature windows go straight
into the first LSTM layer. A series imported from raw rows (schema `info.series`)
takes raw windows: `SeriesPreprocess` differences and scales them before the LSTM,
and `SeriesInverse` turns the head's scaled output back into original units
(`keras_lstm_opt.models.series`). Every choice that decides whether a layer runs on the
cuDNN kernel is a config key; `keras_lstm_opt.cudnn_report` explains the result.

Example:

    cfg = load_config("configs/text.yaml")
    files = resolve_files(cfg.data)
    model = build_model(cfg.model, files.schema, precision=cfg.train.precision)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.models.heads import head_for

log = logging.getLogger("keras_lstm_opt")

if TYPE_CHECKING:  # for the type checker only: any object with these fields will do
    import keras  # (imported where it is used: importing this module stays fast)

    from keras_lstm_opt.config import ModelConfig, RegularizerConfig
    from keras_lstm_opt.data.schema import Schema

ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}


def _regularizer(cfg: RegularizerConfig) -> keras.regularizers.Regularizer | None:
    import keras

    if not cfg.l1 and not cfg.l2:
        return None
    return keras.regularizers.L1L2(l1=cfg.l1, l2=cfg.l2)


def lstm_kwargs(cfg: ModelConfig, precision: str = "float32") -> dict[str, Any]:
    """The keyword arguments every LSTM layer of the stack shares."""
    reg = cfg.regularizers
    return {
        "activation": cfg.activation,
        "recurrent_activation": cfg.recurrent_activation,
        "use_bias": cfg.use_bias,
        "kernel_initializer": ALIASES.get(cfg.kernel_initializer, cfg.kernel_initializer),
        "recurrent_initializer": ALIASES.get(cfg.recurrent_initializer, cfg.recurrent_initializer),
        "unit_forget_bias": cfg.unit_forget_bias,
        "kernel_regularizer": _regularizer(reg.kernel),
        "recurrent_regularizer": _regularizer(reg.recurrent),
        "bias_regularizer": _regularizer(reg.bias),
        "activity_regularizer": _regularizer(reg.activity),
        "dropout": cfg.input_dropout,
        "recurrent_dropout": cfg.recurrent_dropout,
        "unroll": cfg.unroll,
        "use_cudnn": cfg.use_cudnn,
        "dtype": precision,
    }


def _inputs(
    schema: Schema, cfg: ModelConfig, precision: str
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    import keras

    name = schema["inputs"]
    feat = schema["features"][name]
    info = schema.get("info", {})
    if feat["dtype"] == "int64" and feat["shape"] == [None]:
        vocab = int(info.get("vocab_size", 0))
        if vocab < 2:
            raise DataError(f"schema: token input {name!r} needs info.vocab_size >= 2")
        inp = keras.Input(shape=(None,), dtype="int64", name=name)
        from keras_lstm_opt.models.row_embedding import RowEmbedding

        vectors = cfg.pretrained_embeddings
        dim = _vectors_dim(cfg, info) if vectors else cfg.embedding_dim
        layer = RowEmbedding(vocab, dim, mask_zero=True, dtype=precision, name="embedding")
        x = layer(inp)
        if vectors:
            from keras_lstm_opt.models.pretrained import initialize_embedding

            initialize_embedding(layer, vectors, info["vocabulary"])
        layer.trainable = cfg.embeddings_trainable
        return inp, x
    if cfg.pretrained_embeddings:
        raise DataError(
            "model.pretrained_embeddings: the data has no token input (word vectors are "
            "for text imported with `data import`); set it to null"
        )
    if feat["dtype"] == "float32" and len(feat["shape"]) == 2:
        inp = keras.Input(shape=tuple(feat["shape"]), dtype="float32", name=name)
        if "series" in info:
            from keras_lstm_opt.models.series import SeriesPreprocess

            return inp, SeriesPreprocess(**_series_args(schema), name="series_preprocess")(inp)
        return inp, inp
    raise DataError(
        f"schema: input {name!r} must be int64 tokens of shape [null] or float32 "
        f"features of shape [time, features]; got {feat}"
    )


def _vectors_dim(cfg: ModelConfig, info: dict[str, Any]) -> int:
    """The embedding size pretrained vectors set (logged when not embedding_dim)."""
    from keras_lstm_opt.models.pretrained import vector_dim

    if not isinstance(info.get("vocabulary"), list):
        raise DataError(
            "model.pretrained_embeddings: the data has no vocabulary to look the words up "
            "(token ids without words, as the embedded data); import text with `data import`"
        )
    dim = vector_dim(str(cfg.pretrained_embeddings))
    if dim != cfg.embedding_dim:
        log.info(
            "model.embedding_dim = %d: the size of the vectors in %s (not %d)",
            dim,
            cfg.pretrained_embeddings,
            cfg.embedding_dim,
        )
    return dim


def _series_args(schema: Schema) -> dict[str, Any]:
    """The transform arguments both series layers take, checked against the schema."""
    info, feat = schema["info"], schema["features"][schema["inputs"]]
    series = info["series"]
    try:
        n_targets, lag = len(series["targets"]), int(series["lag"])
        args = {
            "targets": list(range(n_targets)),
            "transform": series["transform"],
            "lag": lag,
            "mean": list(series["mean"]),
            "std": list(series["std"]),
            "log": bool(series.get("log", False)),
        }
        expected = [int(info["window"]) + lag, len(series["columns"])]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"schema: info.series is incomplete or malformed ({exc!r}); import the data again"
        ) from None
    if feat["shape"] != expected or len(args["mean"]) != expected[1]:
        raise DataError(
            f"schema: input {schema['inputs']!r} has shape {feat['shape']}, but "
            f"info.window + info.series.lag and info.series.columns say "
            f"{expected}; import the data again"
        )
    return args


def _subword_args(cfg: ModelConfig, info: dict[str, Any]) -> dict[str, Any]:
    """NgramBag's subword arguments: the vocabulary's character n-grams where the data
    has words (not for text split into characters, nor without a vocabulary)."""
    vocabulary = info.get("vocabulary")
    split = info.get("text", {}).get("split")
    if not cfg.wide_subwords or not vocabulary or split == "character":
        return {}
    if cfg.wide_minn > cfg.wide_maxn:
        raise UsageError(
            f"model.wide_minn ({cfg.wide_minn}) must be <= model.wide_maxn ({cfg.wide_maxn})"
        )
    return {
        "subwords": cfg.wide_subwords,
        "minn": cfg.wide_minn,
        "maxn": cfg.wide_maxn,
        "vocabulary": vocabulary,
    }


def build_model(
    cfg: ModelConfig, schema: Schema, precision: str = "float32", name: str = "lstm_model"
) -> keras.Model:
    """Return an uncompiled Keras model for `schema`'s inputs and target.

    Args:
        cfg: the model section of the experiment config.
        schema: the dataset schema (inputs, target, info.vocab_size / num_classes).
        precision: a Keras dtype policy name ("float32", "mixed_float16",
            "mixed_bfloat16"); the output head always computes in float32.
        name: the model's name.
    """
    import keras

    inp, x = _inputs(schema, cfg, precision)
    window = x  # what the LSTM reads (for a series: transformed and scaled)
    out = _branch(cfg, schema, inp, window, precision)
    if "series" in schema.get("info", {}):  # the head predicts scaled (differenced) values
        from keras_lstm_opt.models.series import SeriesInverse

        horizon = int(schema["info"]["horizon"])
        smoothing = schema["info"]["series"].get("smoothing")
        out = SeriesInverse(
            **_series_args(schema),
            horizon=horizon,
            smoothing=smoothing,
            shrink=bool(cfg.shrink),
            drift=schema["info"]["series"].get("drift"),
            name="series_inverse",
        )([out, inp])
    return keras.Model(inp, out, name=name)


def _branch(cfg: ModelConfig, schema: Schema, inp: Any, window: Any, precision: str) -> Any:
    """The LSTM stack, pooling, wide path and head on `window`: the head's output."""
    import keras

    from keras_lstm_opt.models.fast_lstm import FastLSTM

    x = window
    units = list(cfg.units) if isinstance(cfg.units, list) else [cfg.units] * cfg.layers
    shared = lstm_kwargs(cfg, precision)
    lstm_class = FastLSTM if cfg.lstm == "fast" else keras.layers.LSTM
    for i, n in enumerate(units):
        last = i == len(units) - 1
        seq = not last or cfg.pooling != "last"
        layer = lstm_class(n, return_sequences=seq, name=f"lstm_{i}", **shared)
        if cfg.bidirectional:
            layer = keras.layers.Bidirectional(
                layer,
                merge_mode=cfg.merge_mode,
                name=f"bidirectional_{i}",
                dtype=precision,
            )
        x = layer(x)
        if cfg.dropout and not last:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    if cfg.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="mean_pool", dtype=precision)(x)
    elif cfg.pooling == "max_mean":
        from keras_lstm_opt.models.pooling import MaxMeanPooling

        x = MaxMeanPooling(name="max_mean_pool", dtype=precision)(x)
    if cfg.wide and inp.dtype == "int64":
        from keras_lstm_opt.models.wide import NgramBag

        bag = NgramBag(
            int(schema["info"]["vocab_size"]),
            buckets=cfg.wide_buckets,
            dim=cfg.wide_dim,
            ngrams=cfg.wide_ngrams,
            name="wide",
            dtype=precision,
            **_subword_args(cfg, schema["info"]),
        )(inp)
        x = keras.layers.Concatenate(name="deep_and_wide", dtype=precision)([x, bag])
    head = head_for(schema)
    out = keras.layers.Dense(head.units, activation=head.activation, dtype="float32", name="head")(
        x
    )
    if cfg.wide and "series" in schema.get("info", {}):
        # a linear autoregression on the scaled window beside the LSTM (ARIMA's AR terms,
        # LSTNet's highway): the LSTM learns what the linear model leaves
        flat = keras.layers.Flatten(name="wide_window", dtype="float32")(window)
        linear = keras.layers.Dense(head.units, dtype="float32", name="wide_ar")(flat)
        out = keras.layers.Add(name="deep_and_wide", dtype="float32")([out, linear])
    return out
