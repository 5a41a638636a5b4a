"""Write a series import's windows: both splits staged, then moved into place together.

The windows `import_series` cut (raw, in original units) go to TFRecord shards and
schema.json in `out/.tmp-import` first, and replace an earlier import in `out` only once
both splits are written; a failure leaves `out` as it was.

Example:

    _write("data/co2", (x_tr, y_tr), (x_va, y_va), shards=4, info=info)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_lstm_opt.data.import_staging import TMP, move_into_place, remove_tree
from keras_lstm_opt.data.writer import write_tfrecords


def _write(
    out: str,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    shards: int,
    info: dict[str, Any],
) -> None:
    """Both splits into out/.tmp-import, then into place (replacing an earlier import)."""
    tmp = os.path.join(out, TMP)
    remove_tree(tmp)
    try:
        for split, (x, y), n in (("train", train, shards), ("validation", validation, 1)):
            write_tfrecords(
                tmp,
                {"x": x, "y": y},
                split,
                max(1, min(n, len(x))),
                inputs="x",
                target="y",
                task="forecast",
                info=info,
            )
    except BaseException:
        remove_tree(tmp)
        raise
    move_into_place(tmp, out)
