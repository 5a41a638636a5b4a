"""Pretrained word vectors for a text model's embedding: word2vec (text or binary) and GloVe.

`model.pretrained_embeddings: PATH` starts the embedding rows of the words the vectors
know from those vectors; the other rows (and padding, [UNK]) start as the layer's own
initializer has them, as without vectors. The file is streamed once and only the
vocabulary's words are kept, so a 3-million-word file needs no more memory than the
vocabulary. Formats, told apart by their first bytes:

* word2vec text: a header line "WORDS DIM", then "word v1 ... vDIM" per line;
* GloVe text: the same lines without the header;
* word2vec binary: the header line, then per word "word " and DIM little-endian float32.

A word matches exactly first; a vector file with capitals (word2vec's GoogleNews) also
serves a lower-case vocabulary word through its lower-case form. Local or s3:// paths,
gzip-compressed or not (`glove.6B.100d.txt.gz`).

Example:

    rows, dim, found = read_vectors("glove.6B.100d.txt", ["", "[UNK]", "the", "cat"])
    found  # 2: "the" and "cat"
"""

from __future__ import annotations

import contextlib
import gzip
import logging
from collections.abc import Iterator, Sequence
from typing import IO, Any, cast

import numpy as np

from keras_lstm_opt.errors import DataError
from keras_lstm_opt.io import fs

log = logging.getLogger("keras_lstm_opt")
SPECIAL = 2  # "" (padding) and "[UNK]" lead the vocabulary: never looked up


def read_vectors(path: str, vocabulary: Sequence[str]) -> tuple[dict[int, np.ndarray], int, int]:
    """The vectors of `vocabulary`'s words in the file at `path`.

    Returns:
        ({token id: vector}, the vectors' dimension, words found).

    Raises:
        DataError: the file is missing, empty or not one of the formats (the message
            names the file and the line).
    """
    index = {str(w): i for i, w in enumerate(vocabulary) if i >= SPECIAL}
    exact: dict[int, np.ndarray] = {}
    folded: dict[int, np.ndarray] = {}
    with _open(path) as fh:
        head = fh.readline()
        header = _header(head)
        binary = header is not None and _is_binary(fh)
        if binary:
            assert header is not None
            dim = header[1]
            for word, vec in _binary(fh, path, header[0], dim):
                _keep(word, vec, index, exact, folded)
        else:
            lines = (head,) if header is None else ()
            dim = header[1] if header else 0
            for n, raw in enumerate(_chain(lines, fh), start=1 if header is None else 2):
                parts = raw.rstrip(b"\r\n").split(b" ")
                if len(parts) < 2:
                    continue
                dim = dim or len(parts) - 1
                if len(parts) - 1 != dim:
                    raise DataError(
                        f"{path}, line {n}: {len(parts) - 1} numbers, expected {dim} "
                        "(word2vec or GloVe text: a word, then its vector, space separated)"
                    )
                word = parts[0].decode("utf-8", "replace")
                if word in index or word.lower() in index:
                    try:
                        vec = np.asarray([float(p) for p in parts[1:]], np.float32)
                    except ValueError:
                        raise DataError(f"{path}, line {n}: not a vector of numbers") from None
                    _keep(word, vec, index, exact, folded)
    if not dim:
        raise DataError(f"{path}: no vectors in the file (model.pretrained_embeddings)")
    rows = {**folded, **exact}
    return rows, dim, len(rows)


def initialize_embedding(layer: Any, path: str, vocabulary: Sequence[str]) -> dict[str, Any]:
    """Set `layer`'s rows (a built Embedding) of the words `path` has; log the coverage.
    Returns what metrics.json records of it."""
    rows, dim, found = read_vectors(path, vocabulary)
    weights = layer.get_weights()
    matrix = weights[0]
    if matrix.shape[1] != dim:
        raise DataError(f"{path}: {dim}-dimensional vectors for an embedding of {matrix.shape[1]}")
    if rows:
        ids = np.fromiter(rows, np.int64, len(rows))
        matrix[ids] = np.stack([rows[i] for i in ids]).astype(matrix.dtype)
    layer.set_weights([matrix, *weights[1:]])
    words = max(len(vocabulary) - SPECIAL, 0)
    log.info(
        "model.pretrained_embeddings: %s of %s words found in %s (%.1f%%; %d-dimensional; "
        "the others start as without vectors)",
        f"{found:,}",
        f"{words:,}",
        path,
        100.0 * found / max(words, 1),
        dim,
    )
    return {"path": path, "words": words, "found": found, "dim": dim}


def vector_dim(path: str) -> int:
    """The dimension of the vectors in `path` (from the header, or the first line)."""
    with _open(path) as fh:
        head = fh.readline()
    header = _header(head)
    if header:
        return header[1]
    parts = head.rstrip(b"\r\n").split(b" ")
    if len(parts) < 2:
        raise DataError(
            f"{path}, line 1: not word2vec or GloVe (a header 'WORDS DIM' or "
            "'word v1 v2 ...'; model.pretrained_embeddings)"
        )
    return len(parts) - 1


@contextlib.contextmanager
def _open(path: str) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped when it is gzip (by name or by its first bytes)."""
    if not fs.exists(path):
        raise DataError(f"model.pretrained_embeddings: {path}: no such file")
    with fs.open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        if head == b"\x1f\x8b" or path.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=raw) as fh:
                yield cast(IO[bytes], fh)
        else:
            yield raw


def _header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _is_binary(fh: IO[bytes]) -> bool:
    """After a header: binary when the first record's vector is not text."""
    pos = fh.tell()
    sample = fh.read(4096)
    fh.seek(pos)  # gzip: a seek back within the stream (it re-reads from the start)
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return True
    first = text.split("\n", 1)[0].split(" ")[1:]
    try:
        [float(p) for p in first if p]
    except ValueError:
        return True
    return not first


def _binary(fh: IO[bytes], path: str, count: int, dim: int) -> Any:
    size = 4 * dim
    for n in range(count):
        word = bytearray()
        while (c := fh.read(1)) != b" ":
            if not c:
                raise DataError(f"{path}: ends after {n} of {count} vectors (word2vec binary)")
            if c != b"\n":  # some writers end each vector with a newline
                word += c
        data = fh.read(size)
        if len(data) != size:
            raise DataError(f"{path}: ends inside vector {n + 1} of {count} (word2vec binary)")
        yield word.decode("utf-8", "replace"), np.frombuffer(data, "<f4")


def _chain(first: tuple[bytes, ...], fh: IO[bytes]) -> Any:
    yield from first
    yield from fh


def _keep(
    word: str,
    vec: np.ndarray,
    index: dict[str, int],
    exact: dict[int, np.ndarray],
    folded: dict[int, np.ndarray],
) -> None:
    if word in index:
        exact[index[word]] = vec
    else:
        i = index.get(word.lower())
        if i is not None and i not in folded:
            folded[i] = vec
