import gzip
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt.config import DataConfig
from keras_lstm_opt.data.diagnose import find_bad_record
from keras_lstm_opt.data.embedded import make_forecast, make_text, seasonal_naive_mae
from keras_lstm_opt.data.pipeline import make_dataset, resolve_files
from keras_lstm_opt.data.schema import DataError, parse_spec, read_schema
from keras_lstm_opt.data.writer import write_csv, write_text_lines, write_tfrecords


def _collect(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return xs, ys


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB", "NONE"])
def test_numpy_round_trip_variable_length(tmp_path, compression):
    tokens = [np.arange(1, n + 1) for n in (3, 5, 1, 4, 2, 6)]
    labels = np.array([0, 1, 0, 1, 1, 0])
    paths = write_tfrecords(
        str(tmp_path),
        {"tokens": tokens, "label": labels},
        shards=3,
        compression=compression,
        task="text",
        info={"vocab_size": 10, "num_classes": 2},
    )
    assert len(paths) == 3 and all(os.path.exists(p) for p in paths)
    schema = read_schema(str(tmp_path))
    assert schema["features"]["tokens"]["shape"] == [None]
    assert schema["splits"]["train"]["examples"] == 6
    cfg = DataConfig(path=str(tmp_path), deterministic=True)
    files = resolve_files(cfg)
    assert files.compression == compression
    xs, ys = _collect(make_dataset(cfg, schema, files.train, 6, training=False))
    assert len(xs) == 1
    x, y = xs[0], ys[0]
    # Every row is right-padded with zeros and holds one of the written sequences.
    lengths = (x != 0).sum(axis=1)
    for row, n in zip(x, lengths, strict=True):
        assert (row[:n] == np.arange(1, n + 1)).all() and (row[n:] == 0).all()
    assert sorted(lengths.tolist()) == [1, 2, 3, 4, 5, 6]
    assert sorted(y.tolist()) == sorted(labels.tolist())


def test_fixed_shape_and_csv_windows(tmp_path):
    csv = tmp_path / "series.csv"
    rows = ["a,b,target"] + [f"{i},{i * 2},{i * 3}" for i in range(20)]
    csv.write_text("\n".join(rows) + "\n")
    write_csv(
        str(csv), str(tmp_path / "out"), ["target"], window=5, horizon=2, feature_columns=["a", "b"]
    )
    schema = read_schema(str(tmp_path / "out"))
    assert schema["features"]["x"]["shape"] == [5, 2] and schema["features"]["y"]["shape"] == [2]
    cfg = DataConfig(path=str(tmp_path / "out"), task="forecast")
    files = resolve_files(cfg)
    xs, ys = _collect(make_dataset(cfg, schema, files.train, 100, training=False))
    x, y = xs[0], ys[0]
    assert x.shape == (14, 5, 2) and y.shape == (14, 2)
    first = int(np.argmin(x[:, 0, 0]))
    assert (y[first] == [15, 18]).all()  # targets of steps 5 and 6
    bad = tmp_path / "bad.csv"
    bad.write_text("a,target\n1,2\nx,3\n")
    with pytest.raises(DataError, match=r"bad.csv, line 3"):
        write_csv(str(bad), str(tmp_path / "o2"), ["target"], 1, 1, ["a"])


def test_text_lines_use_keras_text_vectorization(tmp_path):
    src = tmp_path / "lines.txt"
    src.write_text("1\tthe cat sat\n0\ta dog ran far\n1\tthe cat ran\n")
    write_text_lines(str(src), str(tmp_path / "t"), vocab_size=50)
    schema = read_schema(str(tmp_path / "t"))
    vocab = schema["info"]["vocabulary"]
    assert "cat" in vocab and schema["info"]["num_classes"] == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("1\tok\nno label here\n")
    with pytest.raises(DataError, match=r"bad.txt, line 2"):
        write_text_lines(str(bad), str(tmp_path / "t2"))


def test_bucketing_groups_similar_lengths(text_dir):
    cfg = DataConfig(path=text_dir, batching="bucket", bucket_boundaries=[32, 48])
    files = resolve_files(cfg)
    for x, _ in make_dataset(cfg, files.schema, files.train, 16, training=True).take(20):
        lengths = (x.numpy() != 0).sum(axis=1)
        bucket = np.digitize(lengths, [32, 48])  # tf.data: [b_i-1, b_i)
        assert len(set(bucket.tolist())) == 1


def test_truncation_and_training_shuffle_is_reproducible(text_dir):
    cfg = DataConfig(path=text_dir, max_length=20, deterministic=True)
    files = resolve_files(cfg)
    a = _collect(make_dataset(cfg, files.schema, files.train, 32, True, seed=3).take(3))
    b = _collect(make_dataset(cfg, files.schema, files.train, 32, True, seed=3).take(3))
    assert all(x.shape[1] <= 20 for x in a[0])
    assert all((p == q).all() for p, q in zip(a[0], b[0], strict=True))


def test_embedded_text_has_known_noise_and_order_sensitive_labels():
    data = make_text(4000, seed=1)
    again = make_text(4000, seed=1)
    assert all((p == q).all() for p, q in zip(data["tokens"], again["tokens"], strict=True))
    clean = []
    for seq in data["tokens"]:
        pos = {t: int(np.flatnonzero(seq == t)[0]) for t in (1, 2, 3, 4)}
        clean.append(2 * int(pos[1] < pos[2]) + int(pos[3] < pos[4]))
    agree = float(np.mean(np.array(clean) == data["label"]))
    assert 0.93 < agree < 0.97  # 5% label noise


def test_forecast_baseline_is_the_seasonal_naive():
    d = make_forecast(500, seed=2)
    mae = seasonal_naive_mae(d["x"], d["y"])
    pred = np.concatenate([d["x"][:, :, 0], d["y"]], axis=1)[:, 48 - 24 : 48 - 24 + 12]
    assert mae == pytest.approx(float(np.mean(np.abs(pred - d["y"]))), rel=1e-6)


def _copy_split(src_dir, dst, keep_validation=True):
    import shutil

    shutil.copytree(src_dir, dst)
    return sorted(p for p in os.listdir(dst) if p.startswith("train-"))


def test_truncated_gzip_shard_names_the_file(text_dir, tmp_path):
    dst = str(tmp_path / "d")
    shards = _copy_split(text_dir, dst)
    victim = os.path.join(dst, shards[1])
    data = open(victim, "rb").read()
    open(victim, "wb").write(data[: len(data) // 2])
    problem = find_bad_record([os.path.join(dst, s) for s in shards], "GZIP")
    assert problem is not None and shards[1] in problem and "record" in problem


def test_a_record_that_is_not_an_example_names_file_and_record(text_dir, tmp_path):
    dst = str(tmp_path / "d")
    shards = _copy_split(text_dir, dst)
    victim = os.path.join(dst, shards[0])
    records = [r.numpy() for r in tf.data.TFRecordDataset(victim, compression_type="GZIP")]
    records[5] = b"\x08\x96\x01 definitely not an Example"
    with tf.io.TFRecordWriter(victim, "GZIP") as w:
        for r in records:
            w.write(r)
    schema = read_schema(dst)
    problem = find_bad_record([victim], "GZIP", parse_spec(schema))
    assert problem is not None and shards[0] in problem and "record 5 " in problem


def test_garbage_file_is_named(tmp_path, text_dir):
    dst = str(tmp_path / "d")
    shards = _copy_split(text_dir, dst)
    with gzip.open(os.path.join(dst, shards[2]), "wb") as fh:
        fh.write(b"not a tfrecord at all" * 10)
    assert shards[2] in find_bad_record([os.path.join(dst, s) for s in shards], "GZIP")


def test_schema_problems_name_the_file(tmp_path):
    (tmp_path / "schema.json").write_text(json.dumps({"features": {"x": {"dtype": "int8"}}}))
    with pytest.raises(DataError, match=r"schema.json: .*features.x.dtype"):
        read_schema(str(tmp_path))
    (tmp_path / "schema.json").write_text("{not json")
    with pytest.raises(DataError, match="schema.json: not valid JSON"):
        read_schema(str(tmp_path))
    with pytest.raises(DataError, match="schema.json not found"):
        read_schema(str(tmp_path / "nowhere"))


def test_writer_rejects_mismatched_and_empty_rows(tmp_path):
    with pytest.raises(DataError, match="different numbers of examples"):
        write_tfrecords(str(tmp_path), {"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(DataError, match="example 1: variable-length rows"):
        write_tfrecords(str(tmp_path), {"a": [np.ones(2), np.ones(0)], "b": np.zeros(2)})


def test_python_lists_write_like_numpy_arrays(tmp_path):
    """Issue 14, finding 4: a plain list of int labels (and a list of lists of token
    ids) is written exactly as the equivalent NumPy arrays, and reads back the same."""
    import keras_lstm_opt as klo

    tokens = [[3, 4, 5], [7], [8, 9, 2, 6], [1, 5], [4, 4, 4, 4, 4], [2]]
    labels = [0, 1, 2, 3, 1, 0]
    read = {}
    for kind, feats in {
        "lists": {"tokens": tokens, "label": labels},
        "numpy": {"tokens": [np.array(t) for t in tokens], "label": np.array(labels)},
    }.items():
        out = str(tmp_path / kind)
        klo.write_tfrecords(
            out,
            feats,
            shards=2,
            inputs="tokens",
            target="label",
            task="text",
            info={"vocab_size": 10, "num_classes": 4},
        )
        schema = klo.read_schema(out)
        cfg = DataConfig(path=out, deterministic=True)
        ds = klo.make_dataset(cfg, schema, klo.resolve_files(cfg).train, 6, training=False)
        (x,), (y,) = _collect(ds)
        rows = sorted(
            [int(v) for v in row if v] + [int(lab)] for row, lab in zip(x, y, strict=True)
        )
        read[kind] = (schema, rows)
    assert read["lists"][0]["features"] == {
        "tokens": {"dtype": "int64", "shape": [None]},
        "label": {"dtype": "int64", "shape": []},
    }
    assert read["lists"] == read["numpy"]
    assert read["lists"][1] == sorted([t + [lab] for t, lab in zip(tokens, labels, strict=True)])
    # floats and strings too; a value among sequences is refused by name
    klo.write_tfrecords(str(tmp_path / "f"), {"x": [[0.5, 1.0], [2.5]], "y": [1.5, 2.0]})
    assert klo.read_schema(str(tmp_path / "f"))["features"]["y"] == {
        "dtype": "float32",
        "shape": [],
    }
    klo.write_tfrecords(str(tmp_path / "s"), {"w": [["a", "b"], ["c"]], "y": [0, 1]})
    assert klo.read_schema(str(tmp_path / "s"))["features"]["w"]["dtype"] == "string"
    with pytest.raises(DataError, match="feature 'x', example 1: a single value"):
        klo.write_tfrecords(str(tmp_path / "bad"), {"x": [[1, 2], 3], "y": [0, 1]})


def test_glob_path_with_validation_path(text_dir):
    cfg = DataConfig(
        path=os.path.join(text_dir, "train-0000[01]-*"),
        validation_path=os.path.join(text_dir, "validation-*"),
    )
    files = resolve_files(cfg)
    assert len(files.train) == 2 and len(files.validation) == 1
    with pytest.raises(DataError, match="no TFRecord shards found"):
        resolve_files(DataConfig(path=os.path.join(text_dir, "nothing-*")))


def test_worker_sharding_uses_files_when_enough_else_records(text_dir, caplog):
    cfg = DataConfig(path=text_dir, deterministic=True, shuffle_buffer=0, shuffle_files=False)
    files = resolve_files(cfg)

    def labels(file_list, worker):
        ctx = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=worker, num_replicas_in_sync=2
        )
        ds = make_dataset(cfg, files.schema, file_list, 1000, True, input_context=ctx)
        return sum(int(y.shape[0]) for _, y in ds)

    # 4 train shards, 2 workers: each reads 2 whole files (FILE policy).
    assert labels(files.train, 0) + labels(files.train, 1) == 800
    assert not [r for r in caplog.records if "DATA policy" in r.getMessage()]
    # 1 validation shard, 2 workers: records are split instead (DATA policy), with a warning.
    assert labels(files.validation, 0) + labels(files.validation, 1) == 200
    assert any("DATA policy" in r.getMessage() for r in caplog.records)


def test_file_cache_is_reused_and_invalidated_by_a_changed_record(text_dir, tmp_path, caplog):
    import logging
    import shutil

    import tensorflow as tf

    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files

    data = tmp_path / "data"
    shutil.copytree(text_dir, data)
    cfg = DataConfig(path=str(data), cache=str(tmp_path / "cache" / "text"))
    files = resolve_files(cfg)

    def labels() -> list[int]:
        ds = make_dataset(cfg, files.schema, files.train, 64, training=False)
        return [int(v) for _, y in ds for v in y.numpy().ravel()]

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    first = labels()
    assert "data cache built" in caplog.text
    caplog.clear()
    assert labels() == first and "data cache hit" in caplog.text
    # rewrite one record of one shard with another label
    shard = files.train[0]
    records = [r.numpy() for r in tf.data.TFRecordDataset(shard, compression_type="GZIP")]
    ex = tf.train.Example.FromString(records[0])
    target = files.schema["target"]
    old = ex.features.feature[target].int64_list.value[0]
    ex.features.feature[target].int64_list.value[0] = (old + 1) % 2
    records[0] = ex.SerializeToString()
    with tf.io.TFRecordWriter(shard, tf.io.TFRecordOptions(compression_type="GZIP")) as w:
        for r in records:
            w.write(r)
    caplog.clear()
    changed = labels()
    assert "data cache invalidated" in caplog.text
    assert changed != first and sum(a != b for a, b in zip(first, changed, strict=True)) == 1
    assert len(list((tmp_path / "cache").glob("text.*-*.index"))) == 1


def test_snapshot_cache_is_fingerprinted_and_reused(text_dir, tmp_path, caplog):
    import logging

    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files

    cfg = DataConfig(
        path=text_dir, cache=f"snapshot:{tmp_path / 'snap' / 'text'}", snapshot_compression="GZIP"
    )
    files = resolve_files(cfg)
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")

    def tokens() -> int:
        ds = make_dataset(cfg, files.schema, files.train, 64, training=False)
        return sum(int((x.numpy() != 0).sum()) for x, _ in ds)

    first = tokens()
    assert "data cache built" in caplog.text
    caplog.clear()
    assert tokens() == first and "data cache hit" in caplog.text
    caplog.clear()
    cfg.max_length = 10  # a setting that shapes the records: a new snapshot
    assert tokens() < first and "data cache invalidated" in caplog.text


def test_distinct_pairs_counts_within_training_rows_up_to_its_cap():
    import numpy as np

    from keras_lstm_opt.data.text_choices import PAIRS_COUNTED, DistinctPairs

    pairs = DistinctPairs()
    # rows [1 2 3] (training), [3 4] (validation), [2 3 1 2] (training)
    pairs.add(np.array([1, 2, 3, 3, 4, 2, 3, 1, 2]), np.array([0, 3, 5, 9]), np.array([1, 0, 1]))
    assert pairs.count == 3  # (1,2) (2,3) (3,1); not (3,3) across rows, not (3,4)
    pairs.add(np.arange(2 * PAIRS_COUNTED), np.array([0, 2 * PAIRS_COUNTED]), np.array([True]))
    assert pairs.count == PAIRS_COUNTED
    pairs.add(np.array([7, 8]), np.array([0, 2]), np.array([True]))
    assert pairs.count == PAIRS_COUNTED
