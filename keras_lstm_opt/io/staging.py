"""Reading shards that TensorFlow cannot open itself (s3:// through s3fs): stage or stream.

- `stage_files` downloads the shards into a local directory once: in parallel, into
  `.part` files that a later run continues (HTTP range reads), checked against the
  object's size and, for single-part uploads, its MD5 (the ETag), and reused by later
  runs while the object's ETag and size are unchanged. The directory is bounded: the
  least recently used staged shards are removed to stay under `max_bytes`, except those
  a live process has staged (each holds a shared lock on a `.pin` file per shard until it
  exits). A lock per shard lets workers on one host share it.
- `record_dataset` streams one shard's records into tf.data: the object is read in
  8 MiB blocks, decompressed in Python and split at TFRecord's framing (the records'
  CRCs are not checked; a truncated record is an error naming the file and record).

Example:

    local = stage_files(["s3://bucket/data/train-00000-of-00004.tfrecord.gz"], "/tmp/st")
    ds = tf.data.TFRecordDataset(local, compression_type="GZIP")
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from keras_lstm_opt.errors import DataError, StorageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.atomic import atomic_open
from keras_lstm_opt.io.writable import check_writable
from keras_lstm_opt.progress import Progress

log = logging.getLogger("keras_lstm_opt")
CHUNK = 8 << 20
SIDE_FILES = (".meta", ".lock", ".pin", ".part", ".tmp")


def default_stage_dir() -> str:
    """$KLO_STAGE_DIR, or ~/.cache/keras-lstm-opt/stage."""
    return os.environ.get("KLO_STAGE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras-lstm-opt", "stage"
    )


STAGE_WHAT = "the stage directory (data.stage_dir or $KLO_STAGE_DIR)"


def check_stage_dir(data: Any) -> None:
    """Before any work: when `data` (a DataConfig) stages remote shards, its stage
    directory must be writable (UnwritablePathError, exit 2, otherwise)."""
    paths = [p for p in (data.path, data.validation_path) if p]
    if getattr(data, "remote_read", "stage") == "stage" and any(not fs.native(p) for p in paths):
        check_writable(getattr(data, "stage_dir", None) or default_stage_dir(), STAGE_WHAT)


def _local_path(stage_dir: str, url: str) -> str:
    rel = url.split("://", 1)[1]
    return os.path.join(stage_dir, url.split("://", 1)[0], *rel.split("/"))


def _read_meta(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return dict(json.load(fh))
    except (OSError, ValueError):
        return None


def _write_meta(path: str, meta: dict[str, Any]) -> None:
    with atomic_open(path) as fh:
        json.dump(meta, fh)


def _md5_etag(etag: str | None) -> str | None:
    """The MD5 an ETag stands for (single-part uploads), or None (multipart: 'md5-N')."""
    return etag if etag and len(etag) == 32 and all(c in "0123456789abcdef" for c in etag) else None


def _download(
    url: str, local: str, remote: dict[str, Any], total: Progress | None = None
) -> tuple[bool, int]:
    """Bring `url` to `local` unless already there; return (downloaded, bytes fetched)."""
    with open(local + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker on this host may be staging it
        meta = _read_meta(local + ".meta")
        if meta == remote and os.path.exists(local) and os.path.getsize(local) == remote["size"]:
            os.utime(local)  # recently used: evicted last
            if total is not None:
                total.add(remote["size"])
            return False, 0
        part = local + ".part"
        if _read_meta(part + ".meta") != remote or not os.path.exists(part):
            with open(part, "wb"):
                pass
            _write_meta(part + ".meta", remote)
        have = os.path.getsize(part)
        fetched = 0
        # this shard's own lines when it takes long (the bar on a terminal is the total's)
        lines = total is not None and total.enabled and not total.live
        shard = Progress(f"staging {url}", remote["size"], "bytes", lines, terminal=False)
        shard.update(have)
        if total is not None:
            total.add(have)
        with fs.open(url, "rb") as src, open(part, "ab") as dst:
            src.seek(have)  # continue an interrupted download (range reads)
            while block := src.read(CHUNK):
                dst.write(block)
                fetched += len(block)
                shard.update(have + fetched)
                if total is not None:
                    total.add(len(block))
        shard.close()
        got = os.path.getsize(part)
        md5 = _md5_etag(remote["etag"])
        if got != remote["size"] or (md5 and _file_md5(part) != md5):
            os.remove(part)
            raise StorageError(
                f"{url}: the staged copy does not match the object ({got} of "
                f"{remote['size']} bytes{', MD5 differs' if md5 else ''}); "
                "it was removed, run again"
            )
        os.replace(part, local)
        os.remove(part + ".meta")
        _write_meta(local + ".meta", remote)
        return True, fetched


def _file_md5(path: str) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


_PINS: dict[str, Any] = {}  # staged files this process uses: a shared lock on each


def _pin(local: str) -> None:
    """Mark `local` as in use by this process until it exits (eviction skips it)."""
    if local not in _PINS:
        fh = open(local + ".pin", "a")  # noqa: SIM115  (held open for the process's life)
        fcntl.flock(fh, fcntl.LOCK_SH)
        _PINS[local] = fh


def _evict(stage_dir: str, max_bytes: int) -> int:
    """Remove least recently used staged files until under `max_bytes`, skipping any that
    a process (this one included) has pinned; one evictor at a time per directory."""
    with open(os.path.join(stage_dir, ".evict.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        staged = []
        for root, _, names in os.walk(stage_dir):
            for n in names:
                if not n.startswith(".") and not n.endswith(SIDE_FILES):
                    p = os.path.join(root, n)
                    try:
                        st = os.stat(p)
                    except FileNotFoundError:
                        continue
                    staged.append((st.st_mtime, st.st_size, p))
        total = sum(s for _, s, _ in staged)
        removed = 0
        for _, size, p in sorted(staged):
            if total <= max_bytes:
                break
            with open(p + ".pin", "a") as pin:
                try:
                    fcntl.flock(pin, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use
                for q in (p, p + ".meta"):
                    try:
                        os.remove(q)
                    except FileNotFoundError:
                        pass
            total -= size
            removed += 1
        return removed


def stage_files(
    urls: list[str], stage_dir: str | None = None, max_bytes: int = 20 << 30, workers: int = 8
) -> list[str]:
    """Local copies of remote shards (local paths pass through), in the same order.
    The stage directory is checked first (`writable.check_writable`).

    Args:
        urls: shard paths; those TensorFlow can open itself are returned as they are.
        stage_dir: where copies live; None = `default_stage_dir()`.
        max_bytes: bound on the directory; older staged shards are removed to fit.
        workers: parallel downloads.

    Raises:
        UnwritablePathError: the stage directory cannot be written.
        StorageError: the shards alone are larger than `max_bytes`, or a download failed
            or did not match the object (the message names the shard).
    """
    remote = [u for u in urls if not fs.native(u)]
    if not remote:
        return list(urls)
    stage_dir = os.path.abspath(stage_dir or default_stage_dir())
    check_writable(stage_dir, STAGE_WHAT)
    began = time.perf_counter()
    local = {u: _local_path(stage_dir, u) for u in remote}
    done = fetched = 0

    def one(u: str) -> tuple[bool, int]:
        try:
            os.makedirs(os.path.dirname(local[u]), exist_ok=True)
            _pin(local[u])
            return _download(u, local[u], infos[u], meter)
        except StorageError:
            raise
        except (OSError, ValueError) as exc:
            raise StorageError(f"{u}: staging into {local[u]} failed: {exc}") from None

    with ThreadPoolExecutor(workers) as pool:
        infos = dict(zip(remote, pool.map(_info, remote), strict=True))
        need = sum(i["size"] for i in infos.values())
        if need > max_bytes:
            raise StorageError(
                f"{len(remote)} shard(s) under {remote[0].rsplit('/', 1)[0]} "
                f"hold {need / 2**30:.2f} GiB, more than data.stage_max_gib "
                f"({max_bytes / 2**30:.2f} GiB): raise it, or read them with "
                "data.remote_read=stream"
            )
        meter = Progress(f"staging {len(remote)} shard(s)", need, "bytes")
        try:
            for got, n in pool.map(one, remote):
                done += got
                fetched += n
        finally:
            meter.close()
    removed = _evict(stage_dir, max_bytes)
    log.info(
        "staged %d shard(s) (%.1f MB) from %s in %.2f s: %d downloaded (%d bytes), %d reused%s",
        len(remote),
        need / 1e6,
        remote[0].rsplit("/", 1)[0],
        time.perf_counter() - began,
        done,
        fetched,
        len(remote) - done,
        f", {removed} old one(s) removed" if removed else "",
    )
    return [local.get(u, u) for u in urls]


def _info(url: str) -> dict[str, Any]:
    try:
        i = fs.info(url)
    except FileNotFoundError:
        raise StorageError(f"{url}: no such object") from None
    return {"size": i["size"], "etag": i["etag"]}


def _records(url: str, compression: str) -> Iterator[bytes]:
    with fs.open(url, "rb") as raw:
        src: Any = (
            gzip.GzipFile(fileobj=raw)
            if compression == "GZIP"
            else _Inflate(raw)
            if compression == "ZLIB"
            else raw
        )
        n = 0
        while head := src.read(12):
            if len(head) < 12:
                raise DataError(f"{url}: record {n} is cut off (a {len(head)}-byte header)")
            (length,) = struct.unpack("<Q", head[:8])
            body = src.read(length + 4)
            if len(body) < length + 4:
                raise DataError(f"{url}: record {n} is cut off ({len(body)} of {length + 4} bytes)")
            yield body[:length]
            n += 1


class _Inflate:
    """A file-like reader of a zlib stream (TFRecord's ZLIB compression)."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.z, self.buf = raw, zlib.decompressobj(), b""

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            block = self.raw.read(CHUNK)
            if not block:
                self.buf += self.z.flush()
                break
            self.buf += self.z.decompress(block)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def record_dataset(url: Any, compression: str) -> Any:
    """tf.data dataset of one shard's serialized records, streamed from any path."""
    import numpy as np
    import tensorflow as tf

    def gen(path: bytes) -> Iterator[Any]:
        batch: list[bytes] = []
        for record in _records(path.decode(), compression):
            batch.append(record)
            if len(batch) == 512:  # one Python-to-TensorFlow hand-over per 512 records
                yield np.array(batch, dtype=object)
                batch = []
        if batch:
            yield np.array(batch, dtype=object)

    return tf.data.Dataset.from_generator(
        gen, output_signature=tf.TensorSpec([None], tf.string), args=(url,)
    ).unbatch()
