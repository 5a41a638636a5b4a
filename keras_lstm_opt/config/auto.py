"""`train.auto`: settings chosen from the data's statistics, for imported text and series.

The built-in defaults were chosen on the embedded task, which saturates in one epoch.
On real corpora (`benchmarks/bench.py --mode real-text`: WordNet glosses, fortune cookies,
man pages) they underfit small data sets (too few steps per epoch), keep only the last
state of long texts, and keep the epoch with the lowest validation loss, which on real
text comes epochs before the most accurate one. For data imported with `data import`
(text classification), `auto_settings` therefore changes, where the config still holds
the built-in default:

* `model.pooling`: max_mean (the masked max and mean over all steps, side by side);
* `model.embedding_dim`: 64 for vocabularies of 2,000 words or more;
* `model.wide`: on for class labels (`keras_lstm_opt.models.wide`): a fastText-style
  bag of hashed token bigrams read by the head beside the LSTM; it adds accuracy on the
  development half of the corpus suite (docs/measurements.md, design measurements);
* `model.wide_subwords`: on for words (not for character tokens): the wide path's
  second bag, of every word's character n-grams, as fastText's subwords, so that words
  spelled alike share evidence (inflected forms, compounds, names); on the development
  half of the corpus suite (round 2, one run each) the mean of 17 corpora rose by 1.3
  points, Russian fortunes by 3.8 and FOLDOC by 4.1, for 1.5 to 2.5x the time per epoch;
* `model.wide_dim`: 64 for class labels (was 32): the head reads a text's n-grams as the
  mean of their vectors, and 64 numbers keep more of them (fastText's vectors are 100
  wide); tried on 12 of the 24 dev corpora of the suite's round 3 first (one run each):
  +1.4 points on average, +2.3 to +2.9 on fortunes, kjv, pydoc, Russian fortunes and man
  pages, -0.2 and -0.1 on German fortunes and WordNet, epochs up to 20% longer;
* `model.wide_subwords` and `model.wide_buckets` (the hashed slots of the two bags): the
  power of two that gives each distinct n-gram 2 to 4 slots (the vocabulary's character
  n-grams; the training rows' distinct token pairs that `data import` counts, or for data
  imported before it did, the training tokens: an upper bound), between 4,096 and 131,072:
  every slot is a trained row with two optimiser moments that each saved checkpoint and the
  model file carry, so a small corpus gets a small table;
* `model.input_dropout`: 0.2 (real text overfits from the second or third epoch);
* `train.learning_rate`: 0.01 with the wide path and Adam or AdamW (the default is 0.003): a hashed
  n-gram's row is updated only in the steps whose texts hold it, so at 0.003 the bag
  learned over several epochs. On the 24 development corpora of the suite's round 4
  (one run each, docs/measurements.md): mean accuracy 0.789 -> 0.802, more accurate on
  18 (level on 1, less on 5 by 0.1 to 1.3 points), 2x sooner than the Keras tutorial on
  17 (8 at 0.003);
* `train.batch_size`: 16 under 2,000 training examples, 32 under 20,000, 64 under
  200,000, else the default (enough steps per epoch to learn from a small set), a
  multiple of the replicas;
* `train.early_stopping_patience`: 6 with under 1,000 validation examples (their
  accuracy is noisy from epoch to epoch);
* `train.monitor`: val_accuracy (early stopping and the weights kept follow accuracy);
* `data.batching`: bucket, at the deciles of the training texts' lengths, where the
  longest kept text is 1.5 times the mean or more: a padded batch runs the LSTM over its
  longest text's steps, so batches of similar lengths do up to that factor less work
  (measured: docs/measurements.md, design measurements).

For a series imported from raw rows (`data import --time ...`):

* `model.wide`: on: a linear autoregression on the scaled window, added to the head's
  output (`keras_lstm_opt.models.factory`), where there are at least 5 training windows per
  window step (it has a weight per step and horizon step: with fewer it fits noise; on the
  development half of the series suite, round 2, it cost 0.4 to 0.9 MASE on short series);
* `model.shrink`: on: after training, the network's forecast is shrunk toward its anchor
  by the credibility of its training windows and its fit on the validation windows
  (`keras_lstm_opt.models.shrink`; on the development half of the series suite, round 5,
  mean MASE 2.094 -> 1.968 over 38 series);
* `train.batch_size`: 16 under 2,000 training windows, 32 under 20,000, else 64;
* `train.epochs`: enough for about 3,000 optimiser steps (10 to 300), and
  `train.early_stopping_patience`: 10 (on the development half of the series suite,
  docs/measurements.md, small series stopped long before they had learned).

A key your config file or a `--set` names is never changed (for a series, a bundled config's
keys, written for the embedded series, may be), even to its default value
(for a config built in code, a key that differs from its default); `train.auto: false`
keeps every default as written. Each decision comes with its reason (logged, and in metrics.json
under `auto`).

Example:

    cfg, decided = auto_settings(cfg, files.schema, replicas=1)
    # decided["train.batch_size"] == {"value": 32, "was": 128, "why": "..."}
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_lstm_opt.config.schema import ExperimentConfig
from keras_lstm_opt.data.schema import Schema

TINY_SET, SMALL_SET, MEDIUM_SET = 2_000, 20_000, 200_000
MOST_SLOTS, FEWEST_SLOTS = 131_072, 4_096  # hashed n-gram slots of a bag of the wide path
WIDE_DIM = 64  # the wide path's vectors for class labels
NOISY_VALIDATION = 1_000  # examples: one more right moves accuracy by 0.1 point or more


def slots_for(ngrams: int) -> int:
    """Hashed slots for `ngrams` distinct n-grams: the power of two at or above 2 per
    n-gram (2 to 4 each; collisions then touch at most about a third of them), between
    `FEWEST_SLOTS` and `MOST_SLOTS`.

    Example:

        slots_for(12_568)   # 32768
    """
    wanted = max(FEWEST_SLOTS, 2 * ngrams)
    return min(MOST_SLOTS, 1 << (wanted - 1).bit_length())


def _wide_rules(info: dict[str, Any], examples: int, model: Any) -> dict[str, tuple[Any, str]]:
    """The bags' width and table sizes, from the training tokens and the vocabulary."""
    from keras_lstm_opt.models.wide import distinct_subwords

    rules: dict[str, tuple[Any, str]] = {
        "model.wide_dim": (
            WIDE_DIM,
            f"{int(info.get('num_classes', 0) or 0):,} classes: the head reads each text's "
            f"n-grams as the mean of their vectors; {WIDE_DIM} numbers keep more of them "
            "than 32 (more accurate on the corpus suite's dev half)",
        )
    }
    counted = "pairs" in info["text"]  # by the import (data imported before: not)
    tokens = int(examples * float(info["text"].get("length_mean", 0) or 0))
    pairs = int(info["text"]["pairs"]) if counted else tokens  # tokens: an upper bound
    grams = pairs * max(1, model.wide_ngrams - 1)
    if model.wide_ngrams >= 2 and (counted or tokens):  # a bag of tokens alone hashes nothing
        kinds = (
            "token pairs" if model.wide_ngrams == 2 else f"token 2- to {model.wide_ngrams}-grams"
        )
        seen = (
            f"{pairs:,} distinct token pairs in the training rows: about {grams:,} distinct "
            if counted
            else f"{tokens:,} training tokens (the import did not count the distinct pairs: "
            f"import the data again for them): at most {grams:,} distinct "
        )
        rules["model.wide_buckets"] = (slots_for(grams), f"{seen}{kinds} for the bag's slots")
    vocabulary = info.get("vocabulary") or []
    if info["text"].get("split") != "character" and vocabulary:
        count = distinct_subwords(vocabulary, model.wide_minn, model.wide_maxn)
        rules["model.wide_subwords"] = (
            slots_for(count),
            "words: a second bag, of each word's character n-grams (fastText's "
            "subwords), so that words spelled alike (inflected forms, names) share "
            f"evidence; the vocabulary has {count:,} distinct ones "
            f"({model.wide_minn}..{model.wide_maxn} characters)",
        )
    return rules


def _rules(schema: Schema, replicas: int, model: Any) -> dict[str, tuple[Any, str]]:
    info = schema.get("info", {})
    examples = int(schema.get("splits", {}).get("train", {}).get("examples", 0) or 0)
    vocab, length = int(info.get("vocab_size", 0)), int(info["text"].get("max_length", 0))
    rules: dict[str, tuple[Any, str]] = {
        "model.pooling": (
            "max_mean",
            f"texts of up to {length} tokens: the mean of every "
            "step's output keeps what the last state forgets, the "
            "max a strong phrase the mean dilutes",
        ),
        "model.input_dropout": (0.2, "real text overfits from the second or third epoch"),
    }
    target: dict[str, Any] = dict(schema.get("features", {}).get(schema.get("target", ""), {}))
    validation = schema.get("splits", {}).get("validation")
    if target.get("dtype", "int64") == "int64":
        rules["model.wide"] = (
            True,
            "class labels: a bag of token pairs beside the LSTM sees "
            "every word and word pair at once, as a linear n-gram "
            "model does; the LSTM adds word order and context",
        )
        rules.update(_wide_rules(info, examples, model))
        rules[LR] = (
            FAST_LR,
            "class labels with the wide path: a hashed n-gram's row is updated only in "
            "the steps whose texts hold it, so at 0.003 the bag learned over several "
            "epochs; at 0.01 it learns in the first one or two",
        )
    if target.get("dtype", "int64") == "int64" and validation:
        rules["train.monitor"] = (
            "val_accuracy",
            "class labels: stop on, and keep, the most accurate epoch, not the lowest-loss one",
        )
    held_out = int((validation or {}).get("examples", 0) or 0)
    if validation and held_out < NOISY_VALIDATION:
        rules["train.early_stopping_patience"] = (
            6,
            f"{held_out} validation examples: accuracy moves by {100 / held_out:.1f} "
            "points per example, so a few epochs without a new best are noise",
        )
    bucket = _buckets(info["text"])
    if bucket:
        rules["data.batching"] = ("bucket", bucket[1])
        rules["data.bucket_boundaries"] = (bucket[0], "the deciles of the training texts' lengths")
    if vocab >= 2000:
        rules["model.embedding_dim"] = (64, f"a vocabulary of {vocab:,} words")
    if examples and examples < MEDIUM_SET:
        batch = 16 if examples < TINY_SET else 32 if examples < SMALL_SET else 64
        batch = -(-batch // replicas) * replicas
        rules["train.batch_size"] = (
            batch,
            f"{examples:,} training examples: {-(-examples // batch):,} steps per epoch",
        )
    return rules


FAST_LR, LR = 0.01, "train.learning_rate"  # with the wide path (see the module docstring)
ADAM = ("adam", "adamw")  # the optimizers FAST_LR was measured with (klo.LazyAdam for both)
# logged with the reason even where the choice is the default (the table's size too)
ALWAYS_REPORTED = ("model.wide", "model.wide_buckets")
WIDE_WINDOWS_PER_STEP = 5  # a series' linear path needs this many training windows per input step
STEPS_WANTED = 3_000  # optimiser steps a small series gets (early stopping ends it sooner)
MOST_EPOCHS = 300


def _series_rules(schema: Schema, replicas: int) -> dict[str, tuple[Any, str]]:
    """For a series imported from raw rows: a linear path, and enough steps to learn."""
    windows = int(schema.get("splits", {}).get("train", {}).get("examples", 0) or 0)
    rules: dict[str, tuple[Any, str]] = {
        "model.wide": (
            True,
            "a series: a linear autoregression on the window beside the LSTM (ARIMA's AR "
            "terms); the LSTM learns what the linear model leaves",
        ),
        "model.shrink": (
            True,
            "a series: after training, the network's departure from its anchor is scaled "
            "by what its training and validation windows vouch for (models.shrink)",
        ),
        "train.early_stopping_patience": (
            10,
            "a series' validation windows overlap and move together: a few epochs "
            "without a new best are noise",
        ),
    }
    if not windows:
        return rules
    window = int(schema.get("info", {}).get("window", 0) or 0)
    if window and windows >= WIDE_WINDOWS_PER_STEP * window:
        value, why = rules["model.wide"]
        rules["model.wide"] = (
            value,
            f"{why} ({windows:,} training windows: {windows / window:.1f} per window step, "
            f"at least {WIDE_WINDOWS_PER_STEP})",
        )
    elif window:
        rules["model.wide"] = (
            False,
            f"{windows:,} training windows for a linear autoregression on {window} steps: "
            f"under {WIDE_WINDOWS_PER_STEP} per step it fits noise; the LSTM alone",
        )
    batch = 16 if windows < TINY_SET else 32 if windows < SMALL_SET else 64
    batch = -(-batch // replicas) * replicas
    steps = -(-windows // batch)
    rules["train.batch_size"] = (batch, f"{windows:,} training windows: {steps:,} steps per epoch")
    epochs = min(MOST_EPOCHS, -(-STEPS_WANTED // steps))
    rules["train.epochs"] = (
        max(epochs, 10),
        f"{steps:,} steps per epoch: up to {STEPS_WANTED:,} steps in all, early stopping "
        "ends it at the best epoch",
    )
    return rules


def _buckets(text: dict[str, Any]) -> tuple[list[int], str] | None:
    """Bucket boundaries (a batch holds lengths in [b_i, b_i+1)) and the reason, where
    padding to the batch's longest text would waste at least a third of the steps."""
    deciles, mean = text.get("length_deciles"), float(text.get("length_mean", 0))
    length = int(text.get("max_length", 0))
    if not deciles or not mean or length < 1.5 * mean:
        return None
    bounds = sorted({int(d) + 1 for d in deciles if 1 < int(d) + 1 <= length})
    if not bounds:
        return None
    return bounds, (
        f"texts of {mean:.0f} tokens on average, cut at {length}: a padded "
        f"batch runs up to {length / mean:.1f}x the steps its texts need"
    )


def auto_settings(
    cfg: ExperimentConfig, schema: Schema, replicas: int = 1
) -> tuple[ExperimentConfig, dict[str, dict[str, Any]]]:
    """`cfg` with the settings `train.auto` chooses for this data, and the decisions.

    Args:
        cfg: the experiment config.
        schema: the data's schema.json (imported text carries `info.text`).
        replicas: replicas in sync (the batch size stays divisible by them).

    Returns:
        (config, {dotted key: {"value", "was", "why"}}); nothing is decided unless
        `cfg.train.auto` is on and the data is imported text classification.
    """
    from keras_lstm_opt.config import given_keys

    explicit = "model.embedding_dim" in given_keys(cfg)
    cfg, decided = _auto(cfg, schema, replicas)
    return _vector_size(cfg, decided, explicit)


def _vector_size(
    cfg: ExperimentConfig, decided: dict[str, dict[str, Any]], explicit: bool
) -> tuple[ExperimentConfig, dict[str, dict[str, Any]]]:
    """Pretrained vectors fix the embedding's size; an embedding_dim the user set that
    differs is a ConfigError."""
    path = cfg.model.pretrained_embeddings
    if not path:
        return cfg, decided
    from keras_lstm_opt.errors import ConfigError, Problem
    from keras_lstm_opt.models.pretrained import vector_dim

    dim = vector_dim(path)
    if dim == cfg.model.embedding_dim:
        return cfg, decided
    if explicit:
        raise ConfigError(
            [
                Problem(
                    "model.embedding_dim",
                    f"{cfg.model.embedding_dim}, but the vectors in {path} "
                    f"(model.pretrained_embeddings) have {dim} numbers each; leave "
                    "embedding_dim out (the vectors set it) or give it as "
                    f"{dim}",
                )
            ]
        )
    decided = {
        **decided,
        "model.embedding_dim": {
            "value": dim,
            "was": cfg.model.embedding_dim,
            "why": f"the size of the vectors in {path} (model.pretrained_embeddings)",
        },
    }
    return dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, embedding_dim=dim)
    ), decided


def _auto(
    cfg: ExperimentConfig, schema: Schema, replicas: int
) -> tuple[ExperimentConfig, dict[str, dict[str, Any]]]:
    info = schema.get("info", {})
    if not cfg.train.auto:
        return cfg, {}
    if schema.get("task") == "text" and "text" in info:
        rules = _rules(schema, replicas, cfg.model)
    elif "series" in info:
        rules = _series_rules(schema, replicas)
    else:
        return cfg, {}
    from keras_lstm_opt.config import bundled_keys, given_keys

    given = given_keys(cfg)
    if "series" in info:  # a bundled config's settings were written for its embedded data
        given = given - bundled_keys(cfg)
    sections = {"model": cfg.model, "train": cfg.train, "data": cfg.data}
    changes: dict[str, dict[str, Any]] = {"model": {}, "train": {}, "data": {}}
    decided = {}
    for key, (value, why) in rules.items():
        section, name = key.split(".")
        was = getattr(sections[section], name)
        if key in given or (was == value and key not in ALWAYS_REPORTED):
            continue  # set by the user, or already what auto would pick
        changes[section][name] = value
        decided[key] = {"value": value, "was": was, "why": why}
    if not changes["model"].get("wide", cfg.model.wide):  # no bag for the subwords to join
        for key in ("model.wide_subwords", "model.wide_buckets", "model.wide_dim", LR):
            section, name = key.split(".")
            changes[section].pop(name, None)
            decided.pop(key, None)
    if cfg.train.optimizer not in ADAM:  # measured with Adam: another optimizer keeps its own
        changes["train"].pop("learning_rate", None)
        decided.pop(LR, None)
    if changes["data"].get("batching", cfg.data.batching) != "bucket":
        changes["data"].pop("bucket_boundaries", None)  # the user keeps pad batching
        decided.pop("data.bucket_boundaries", None)
    cfg = dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, **changes["model"]),
        train=dataclasses.replace(cfg.train, **changes["train"]),
        data=dataclasses.replace(cfg.data, **changes["data"]),
    )
    return cfg, decided
