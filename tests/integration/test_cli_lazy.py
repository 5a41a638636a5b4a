"""The command line loads TensorFlow without Keras's scikit-learn and plotting extras
(`cli.lazy`), and those extras still work when a program uses them."""

from __future__ import annotations

import json
import subprocess
import sys

from ..conftest import time_limit

PROBE = """
import json, sys
from keras_lstm_opt.cli.lazy import defer_keras_extras
{defer}
import tensorflow as tf
import keras
loaded = {{m: m in sys.modules for m in ("sklearn", "matplotlib.pyplot")}}
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
clf = keras.wrappers.SKLearnClassifier(model=lambda X, y: model)  # the first use loads it
plot = callable(keras.visualization.plot_image_gallery)
print(json.dumps({{"before": loaded, "after": "sklearn" in sys.modules,
                  "clf": type(clf).__name__, "plot": plot}}))
"""


def _probe(defer: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(defer="defer_keras_extras()" if defer else "")],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tensorflow_loads_without_the_extras_and_they_work_when_used():
    deferred = _probe(defer=True)
    assert deferred["before"] == {"sklearn": False, "matplotlib.pyplot": False}
    assert deferred == {**deferred, "after": True, "clf": "SKLearnClassifier", "plot": True}
    # the probe can fail: without the deferral both extras are loaded by `import tensorflow`
    assert _probe(defer=False)["before"] == {"sklearn": True, "matplotlib.pyplot": True}


def test_the_console_script_defers_them():
    code = (
        "import sys; from keras_lstm_opt.cli import main; "
        "code = main(['check-cudnn']); "
        "print(code, 'tensorflow' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=time_limit(300)
    )
    assert out.stdout.strip().splitlines()[-1] == "0 True False", out.stderr[-3000:]
