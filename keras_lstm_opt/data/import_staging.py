"""An import's staging folder, and its files moved into place from it in one go.

An import writes everything into `out/.tmp-import` (`TMP`) first and moves it into place
at the end (`move_into_place`: the shards, then schema.json last), so that a failed or
stopped import leaves no schema.json and no shards behind, and an earlier import's files
stay until the new ones replace them. Used by `import_text` and `series.import_series`.

Example:

    tmp = os.path.join(out, TMP)
    ...  # write the shards and schema.json into tmp
    move_into_place(tmp, out)
"""

from __future__ import annotations

import json
import os

from keras_lstm_opt.data.schema import DataError, read_schema, schema_path
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import replace
from keras_lstm_opt.signals_deferred import publishing

TMP = ".tmp-import"


def remove_tree(path: str) -> None:
    """Remove a staging folder and what is in it (local or remote)."""
    fs.rmtree(path)


def move_into_place(tmp: str, out: str) -> None:
    """Replace an earlier import's shards by the new ones; schema.json moves last. A
    signal meanwhile is delivered after the move (`signals_deferred.publishing`)."""
    try:
        old = read_schema(out)
    except DataError:
        old = None
    with fs.open(schema_path(tmp), "r") as fh:
        new = json.loads(fh.read())
    keep = {f for s in new["splits"].values() for f in s["files"]}
    with publishing(out):  # a SIGINT/SIGTERM now waits: the old import or the new one
        if old is not None:
            for split in old.get("splits", {}).values():
                for name in split.get("files", []):
                    path = os.path.join(out, name)
                    if name not in keep and fs.exists(path):
                        fs.remove(path)
        for name in sorted(keep):
            replace(os.path.join(tmp, name), os.path.join(out, name))
        replace(schema_path(tmp), schema_path(out))
        remove_tree(tmp)
