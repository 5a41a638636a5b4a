"""Call exported SavedModels with plain TensorFlow, as a serving machine would: this
process cannot import keras_lstm_opt (an import hook refuses it, as if it were not
installed). Run by tests/integration/test_export.py.

usage: load_saved_model.py REQUESTS.json
REQUESTS.json: [{"path": DIR, "signature": NAME, "inputs": {NAME: {"dtype": D, "value": [...]}}}]
Prints one JSON line: {"results": [{OUTPUT: nested list}, ...], "modules": [the
keras_lstm_opt modules loaded, none expected], "seconds": wall time}.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
PACKAGE = "keras_lstm_opt"


class NotInstalled(importlib.abc.MetaPathFinder):
    """Refuse keras_lstm_opt, as on a machine where only TensorFlow is installed."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> None:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            raise ModuleNotFoundError(f"No module named {name!r} (refused by {__file__})")
        return None


def main() -> None:
    sys.meta_path.insert(0, NotInstalled())
    start = time.perf_counter()
    import tensorflow as tf

    with open(sys.argv[1], encoding="utf-8") as fh:
        requests = json.load(fh)
    loaded: dict[str, object] = {}
    results = []
    for req in requests:
        if req["path"] not in loaded:
            loaded[req["path"]] = tf.saved_model.load(req["path"])
        fn = loaded[req["path"]].signatures[req["signature"]]
        inputs = {
            name: tf.constant(spec["value"], dtype=getattr(tf, spec["dtype"]))
            for name, spec in req["inputs"].items()
        }
        outputs = fn(**inputs)
        results.append(
            {
                name: [v.decode() if isinstance(v, bytes) else v for v in value.numpy().tolist()]
                for name, value in outputs.items()
            }
        )
    modules = sorted(m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + "."))
    print(
        json.dumps(
            {
                "results": results,
                "modules": modules,
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
