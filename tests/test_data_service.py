"""tf.data service on loopback: `data serve` starts a dispatcher and workers, training
through it lands in the same metric band as reading directly, SIGTERM stops it."""

from __future__ import annotations

import signal
import subprocess

import pytest

from .conftest import console_script

pytestmark = pytest.mark.slow


def test_training_through_the_service_matches_direct_reading(text_dir, tmp_path):
    from keras_lstm_opt.training.fit import fit

    serve = subprocess.Popen([console_script(), "data", "serve", "--workers", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()
        assert line.startswith("dispatcher grpc://127.0.0.1:"), serve.stderr.read()[-2000:]
        address = line.split()[1]
        common = ["model.units=16", "train.epochs=10", "train.verbose=silent",
                  f"data.path={text_dir}"]
        direct = fit(None, str(tmp_path / "direct"), common)
        served = fit(None, str(tmp_path / "served"),
                     [*common, f"data.service.dispatcher={address}"])
        print({"direct": direct["val_accuracy"], "service": served["val_accuracy"],
               "direct_samples_per_second": direct["samples_per_second"],
               "service_samples_per_second": served["samples_per_second"]})
        assert served["steps_completed"] == direct["steps_completed"]
        assert abs(served["val_accuracy"] - direct["val_accuracy"]) <= 0.1
        assert min(served["val_accuracy"], direct["val_accuracy"]) > 0.4  # chance: 0.25
    finally:
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0 and "tf.data service stopped" in out
    assert "unencrypted" in err
