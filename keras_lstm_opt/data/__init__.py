"""Data: schema.json, importers (CSV/TSV/JSONL/Parquet), TFRecord writers, tf.data, caches."""
