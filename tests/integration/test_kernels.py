"""The fused LSTM kernels: built on first use, cached, and a clear fallback without them."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt import FastLSTM
from keras_lstm_opt.models.kernels import (
    KernelBuildError,
    find_compiler,
    kernel_status,
    load_kernels,
)

from ..conftest import console_script, time_limit, wait_for

needs_compiler = pytest.mark.skipif(
    find_compiler() is None, reason="needs a C++ compiler (g++) for the fused kernels"
)
RNG = np.random.default_rng(1)


def _pair(**kw):
    ref, fast = keras.layers.LSTM(8, **kw), FastLSTM(8, cpu_kernel="fused", **kw)
    ref.build((None, 9, 3))
    fast.build((None, 9, 3))
    fast.set_weights(ref.get_weights())
    return ref, fast


@needs_compiler
def test_kernels_build_load_and_are_cached():
    assert load_kernels() is not None, kernel_status()
    assert kernel_status().startswith("loaded ")
    out = subprocess.run(
        [console_script(), "build-kernels"], capture_output=True, text=True, timeout=time_limit(600)
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "fused LSTM kernels: " + kernel_status()[len("loaded ") :]


BUILD = "from keras_lstm_opt.models.kernels import build_kernels; print(build_kernels())"


@pytest.mark.heavy  # two whole builds' worth of CPU
@needs_compiler
def test_two_processes_that_need_the_kernels_at_once_compile_them_once(tmp_path):
    # the real compiler, behind a script that notes each call (5 compiles and the link) and
    # holds the first build until the second process has reached the lock and said so
    calls, go = tmp_path / "calls", tmp_path / "go"
    cxx = tmp_path / "cxx"
    cxx.write_text(
        f'#!/bin/sh\necho "$@" >> {shlex.quote(str(calls))}\n'
        f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.1; done\n"
        f'exec {shlex.quote(find_compiler() or "g++")} "$@"\n'
    )
    cxx.chmod(0o755)
    env = {**os.environ, "CXX": str(cxx), "KERAS_LSTM_OPT_KERNELS": str(tmp_path / "k")}
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    def start(log: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", BUILD], env=env, text=True,
            stdout=subprocess.PIPE, stderr=open(log, "w"),  # noqa: SIM115
        )  # fmt: skip

    procs = [start(logs[0])]
    try:
        wait_for(calls.exists, time_limit(120), "the first process's compiler", procs=procs)
        procs.append(start(logs[1]))
        wait_for(
            lambda: "waiting for another process's build" in logs[1].read_text(),
            time_limit(120),
            "the second process to wait for the first one's build",
            procs=procs,
            detail=lambda: logs[1].read_text()[-2000:],
        )
        go.touch()
        outs = [p.communicate(timeout=time_limit(600))[0] for p in procs]
    finally:
        go.touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [log.read_text()[-2000:] for log in logs]
    assert outs[0] == outs[1] and outs[0].strip().endswith("klo_lstm_kernels.so")
    assert len(calls.read_text().splitlines()) == 6, calls.read_text()  # one build
    assert "compiling FastLSTM's fused CPU kernels" not in logs[1].read_text()


@needs_compiler
@pytest.mark.parametrize("batch", [1, 5, 64])
def test_graph_mode_and_odd_batches_match_keras(batch):
    """Batch rows are split over threads: 1 row, an odd split, and more rows than threads."""
    ref, fast = _pair(return_sequences=True, return_state=True)
    x = tf.constant(RNG.normal(size=(batch, 9, 3)).astype("float32"))
    mask = tf.constant(np.arange(9)[None, :] < RNG.integers(1, 10, size=(batch, 1)))

    @tf.function
    def run(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            seq, h, c = layer(x, mask=mask)
            loss = tf.reduce_sum(seq**2) + tf.reduce_sum(h * c)
        return [seq, h, c, *tape.gradient(loss, [x, *layer.trainable_variables])]

    for a, b in zip(run(ref), run(fast), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@needs_compiler
def test_xla_and_float64_fall_back_to_the_loop_and_fused_says_why():
    ref, fast = _pair()
    auto = FastLSTM(8)
    auto.build((None, 9, 3))
    auto.set_weights(ref.get_weights())
    x = tf.constant(RNG.normal(size=(4, 9, 3)).astype("float32"))
    xla = tf.function(lambda: auto(x), jit_compile=True)
    np.testing.assert_allclose(xla(), ref(x), atol=1e-5)
    with pytest.raises(Exception, match="XLA cannot compile custom ops"):  # autograph wraps it
        tf.function(lambda: fast(x), jit_compile=True)()
    double = FastLSTM(8, cpu_kernel="fused", dtype="float64")
    with pytest.raises(KernelBuildError, match="float16 or bfloat16, not float64"):
        double(tf.cast(x, "float64"))
    with pytest.raises(ValueError, match="cpu_kernel must be one of"):
        FastLSTM(8, cpu_kernel="fast")


@needs_compiler
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_runs_the_kernels_in_float32(policy):
    ref, fast = _pair(return_sequences=True)
    x = tf.constant(RNG.normal(size=(4, 9, 3)).astype("float32"))
    low = FastLSTM(8, cpu_kernel="fused", return_sequences=True, dtype=policy)
    low.build((None, 9, 3))
    low.set_weights(ref.get_weights())
    with tf.GradientTape() as tape:
        out = low(x)
        loss = tf.reduce_sum(tf.cast(out, "float32") ** 2)
    grads = tape.gradient(loss, low.trainable_variables)
    assert out.dtype == low.compute_dtype and all(g.dtype == tf.float32 for g in grads)
    # within the low-precision dtype's rounding of inputs and outputs
    np.testing.assert_allclose(tf.cast(out, "float32"), ref(x), atol=3e-2)


def test_config_round_trip_keeps_cpu_kernel():
    layer = FastLSTM(4, cpu_kernel="loop")
    assert FastLSTM.from_config(layer.get_config()).cpu_kernel == "loop"


SCRIPT = """
import numpy as np, keras
from keras_lstm_opt import FastLSTM
from keras_lstm_opt.models.kernels import kernel_status
model = keras.Sequential([keras.Input((6, 2)), FastLSTM(4), keras.layers.Dense(1)])
model.compile("sgd", "mse")
loss = model.fit(np.ones((8, 6, 2)), np.ones((8, 1)), epochs=1, verbose=0).history["loss"]
print("STATUS", kernel_status(), "LOSS", loss[0])
try:
    FastLSTM(4, cpu_kernel="fused")(np.ones((2, 6, 2), "float32"))
except RuntimeError as exc:
    print("FUSED", " ".join(str(exc).split()))
"""


def test_a_failing_compiler_falls_back_with_one_warning_and_fused_names_it(tmp_path, text_dir):
    env = {**os.environ, "CXX": "false", "KERAS_LSTM_OPT_KERNELS": str(tmp_path / "k")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "STATUS unavailable: compiling" in out.stdout and "LOSS" in out.stdout
    assert out.stderr.count("fused LSTM kernels unavailable") == 1
    assert out.stderr.count("compiling FastLSTM's fused CPU kernels") == 1  # one log line
    assert (
        "cpu_kernel='fused': the fused LSTM kernels cannot run here: unavailable: compiling"
    ) in out.stdout
    assert not any(p.suffix == ".so" for p in (tmp_path / "k").rglob("*"))  # no partial file
    # profile's advice names the missing kernels and what to do; with an allocator that
    # keeps no statistics (the default where TensorFlow leaves oneDNN off, as on AMD EPYC)
    # the memory figure is reported as unavailable instead of failing the profile
    env.update(TF_CPU_ALLOCATOR_USE_BFC="false", TF_ENABLE_ONEDNN_OPTS="0")
    prof = subprocess.run(
        [
            console_script(),
            "profile",
            "--run-dir",
            str(tmp_path / "prof"),
            "--set",
            f"data.path={text_dir}",
            "--set",
            "profile.steps=6",
            "--set",
            "profile.warmup_steps=2",
            "--set",
            "model.units=8",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=time_limit(600),
    )
    assert prof.returncode == 0, prof.stderr[-2000:]
    report = json.loads((tmp_path / "prof" / "report.json").read_text())
    # the threads `train` uses, applied before TensorFlow initialised (finding 9)
    assert "not applied" not in prof.stderr and "note" not in report["threads"]
    assert report["threads"]["inter_op"] == 1
    measured = report["plan"]["measured_training_mib"]
    md = (tmp_path / "prof" / "report.md").read_text()
    assert (measured is None) == ("measured not available" in md)
    assert report["kernels"].startswith("unavailable: compiling")
    assert any("keras-lstm-opt build-kernels" in r["advice"] for r in report["recommendations"])
    env["KERAS_LSTM_OPT_KERNELS"] = "off"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=time_limit(300),
    )
    assert "STATUS disabled (KERAS_LSTM_OPT_KERNELS=off)" in out.stdout, out.stderr[-2000:]


# Direct calls of the ops with wrong shapes: InvalidArgument naming the input, never an
# out-of-bounds read (issue 15, item 7). Inputs x [B, T, IN], u [H, 4H], 4H = 8 gates.
# The inference op takes the forward op's inputs and checks them alike.
B, T, IN, H = 4, 5, 3, 2


def _t(*shape):
    return tf.constant(RNG.normal(size=shape).astype("float32"))


def _forward_args(**wrong):
    args = dict(
        x=_t(B, T, IN),
        w=_t(IN, 4 * H),
        bias=_t(4 * H),
        u=_t(H, 4 * H),
        h0=_t(B, H),
        c0=_t(B, H),
        mask=tf.ones([B, T]),
    )
    return {**args, **{k: _t(*v) for k, v in wrong.items()}}


def _backward_args(**wrong):
    seq = {k: _t(B, T, H) for k in ("h_prev", "c_prev", "c_tanh", "dys")}
    args = dict(
        x=_t(B, T, IN),
        u=_t(H, 4 * H),
        acts=_t(B, T, 4 * H),
        mask=tf.ones([B, T]),
        dh_last=_t(B, H),
        dc_last=_t(B, H),
        **seq,
    )
    return {**args, **{k: _t(*v) for k, v in wrong.items()}}


FORWARD_WRONG = {
    "x rank 2": ("x", dict(x=(B * T, IN))),
    "u columns": ("u", dict(u=(H, 4 * H - 1))),
    "u rows": ("u", dict(u=(H + 1, 4 * H))),
    "u rank 3": ("u", dict(u=(1, H, 4 * H))),
    "w columns": ("w", dict(w=(IN, 4 * H + 4))),
    "w rows (not x's IN)": ("w", dict(w=(IN + 1, 4 * H))),
    "bias length": ("bias", dict(bias=(4 * H + 1,))),
    "bias rank 2": ("bias", dict(bias=(1, 4 * H))),
    "h0 batch (not x's B)": ("h0", dict(h0=(B + 1, H))),
    "h0 units": ("h0", dict(h0=(B, H + 1))),
    "c0 batch (not x's B)": ("c0", dict(c0=(B - 1, H))),
    "mask time": ("mask", dict(mask=(B, T + 1))),
    "mask flat (same size)": ("mask", dict(mask=(B * T,))),
    "mask batch": ("mask", dict(mask=(B + 1, T))),
}
BACKWARD_WRONG = {
    "x rank 2": ("x", dict(x=(B * T, IN))),
    "u columns": ("u", dict(u=(H, 4 * H - 1))),
    "u rows": ("u", dict(u=(H + 1, 4 * H))),
    "acts gates": ("acts", dict(acts=(B, T, 4 * H + 1))),
    "acts batch (not x's B)": ("acts", dict(acts=(B + 1, T, 4 * H))),
    "h_prev time": ("h_prev", dict(h_prev=(B, T + 1, H))),
    "c_prev units": ("c_prev", dict(c_prev=(B, T, H + 1))),
    "c_tanh flat (same size)": ("c_tanh", dict(c_tanh=(B * T, H))),
    "mask time": ("mask", dict(mask=(B, T - 1))),
    "mask transposed": ("mask", dict(mask=(T, B))),
    "dys units": ("dys", dict(dys=(B, T, H + 1))),
    "dys batch (not x's B)": ("dys", dict(dys=(B - 1, T, H))),
    "dh_last batch": ("dh_last", dict(dh_last=(B + 1, H))),
    "dc_last units": ("dc_last", dict(dc_last=(B, H - 1))),
}


@needs_compiler
def test_ops_accept_the_shapes_they_document():
    """Valid direct calls, with and without bias and mask (empty tensors), pass the checks."""
    ops = load_kernels()
    empty = tf.zeros([0])
    for bias, mask in [(_t(4 * H), tf.ones([B, T])), (empty, empty)]:
        out = ops.klo_lstm_forward(**_forward_args() | dict(bias=bias, mask=mask))
        assert [o.shape for o in out] == [
            (B, T, H),
            (B, H),
            (B, H),
            (B, T, 4 * H),
            (B, T, H),
            (B, T, H),
            (B, T, H),
        ]
        grads = ops.klo_lstm_backward(**_backward_args() | dict(mask=mask))
        assert [g.shape for g in grads] == [
            (B, T, 4 * H),
            (B, H),
            (B, H),
            (4 * H,),
            (IN, 4 * H),
            (H, 4 * H),
        ]
        for sequences in (True, False):
            out = ops.klo_lstm_infer(
                **_forward_args() | dict(bias=bias, mask=mask), sequences=sequences
            )
            assert [o.shape for o in out] == [(B, T if sequences else 0, H), *[(B, H)] * 3]


WRONG = {
    **{("KloLstmForward", c): v for c, v in FORWARD_WRONG.items()},
    **{("KloLstmInfer", c): v for c, v in FORWARD_WRONG.items()},
    **{("KloLstmBackward", c): v for c, v in BACKWARD_WRONG.items()},
}


@needs_compiler
@pytest.mark.parametrize("op,case", list(WRONG), ids=[f"{o}-{c}" for o, c in WRONG])
def test_ops_reject_wrong_shapes_naming_the_input(op, case):
    name, wrong = WRONG[op, case]
    forward = op != "KloLstmBackward"
    args = _forward_args(**wrong) if forward else _backward_args(**wrong)
    call = {
        "KloLstmForward": load_kernels().klo_lstm_forward,
        "KloLstmInfer": load_kernels().klo_lstm_infer,
        "KloLstmBackward": load_kernels().klo_lstm_backward,
    }[op]
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=rf"{op}: {name} must be \[.*, got \["
    ) as info:
        call(**args)
    got = "[" + ", ".join(str(d) for d in args[name].shape) + "]"
    assert f"got {got}" in info.value.message


@needs_compiler
def test_graph_mode_shape_functions_reject_wrong_ranks():
    """The shape functions check ranks before indexing dimensions (no read past a shape)."""
    ops = load_kernels()
    with pytest.raises(ValueError, match="must be rank 3"):
        tf.function(lambda: ops.klo_lstm_forward(**_forward_args(x=(B * T, IN))))()
    with pytest.raises(ValueError, match="must be rank 3"):
        tf.function(lambda: ops.klo_lstm_backward(**_backward_args(acts=(4 * H,))))()
    with pytest.raises(ValueError, match="must be rank 2"):
        tf.function(lambda: ops.klo_lstm_infer(**_forward_args(u=(4 * H,))))()


WRONG_SHAPES_SCRIPT = """
import sys
import numpy as np, tensorflow as tf
ops = tf.load_op_library(sys.argv[1])
B, T, I, H = 4, 9, 3, 4096  # u [H, 1] read as [H, 4H] would read 256 MiB past its end
r = lambda *s: tf.constant(np.ones(s, "float32"))
for name, call in [
    ("backward", lambda: ops.klo_lstm_backward(
        r(B, T, I), r(H, 1), r(B, T, 4 * H), r(B, T, H), r(B, T, H), r(B, T, H),
        r(1), r(B, T, H), r(B, H), r(B, H))),
    ("forward", lambda: ops.klo_lstm_forward(
        r(B, T, I), r(I, 4 * H), r(4 * H), r(H, 1), r(B, H), r(B, H), r(1))),
    ("infer", lambda: ops.klo_lstm_infer(
        r(B, T, I), r(I, 4 * H), r(4 * H), r(H, 1), r(B, H), r(B, H), r(1)))]:
    try:
        call()
        print(name, "RETURNED")
    except tf.errors.InvalidArgumentError as exc:
        print(name, "InvalidArgument:", exc.message.split("}} ")[-1])
"""


@needs_compiler
def test_wrong_shapes_fail_cleanly_in_a_fresh_process():
    """In a child process, so that an out-of-bounds read that crashes fails this test."""
    assert load_kernels() is not None, kernel_status()
    path = kernel_status()[len("loaded ") :]
    out = subprocess.run(
        [sys.executable, "-c", WRONG_SHAPES_SCRIPT, path],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert (
        "backward InvalidArgument: KloLstmBackward: u must be [H, 4H], got [4096, 1]" in out.stdout
    ), out.stdout
    assert (
        "forward InvalidArgument: KloLstmForward: u must be [H, 4H], got [4096, 1]" in out.stdout
    ), out.stdout
    assert "infer InvalidArgument: KloLstmInfer: u must be [H, 4H], got [4096, 1]" in out.stdout, (
        out.stdout
    )


# The inference op against the training forward op: both ways of working (up to 8 rows:
# x w of all steps first; more: x_t w + h u per step), one chunk of units or several (130
# units: 9 unit blocks, the last of 2 units), masks with leading padding, go_backwards, no
# bias, only the last output.
@needs_compiler
@pytest.mark.parametrize(
    "batch, steps, inputs, units",
    [(1, 7, 3, 5), (1, 5, 4, 130), (8, 5, 33, 17), (9, 4, 6, 130), (13, 4, 2, 40)],
)
def test_inference_op_matches_the_training_forward_op(batch, steps, inputs, units):
    ops = load_kernels()
    rng = np.random.default_rng(units)

    def t(*shape):
        return tf.constant(0.3 * rng.normal(size=shape).astype("float32"))

    x, w, u, h0, c0 = (
        t(batch, steps, inputs),
        t(inputs, 4 * units),
        t(units, 4 * units),
        t(batch, units),
        t(batch, units),
    )
    mask = tf.constant((rng.random((batch, steps)) > 0.4).astype("float32"))
    for bias, m, zero_out, reverse in [
        (t(4 * units), mask, False, True),
        (tf.zeros([0]), mask, True, False),
        (t(4 * units), tf.zeros([0]), False, False),
    ]:
        attrs = dict(zero_output_for_mask=zero_out, reverse=reverse)
        ys, h, c, *_ = ops.klo_lstm_forward(x, w, bias, u, h0, c0, m, **attrs)
        seq = ops.klo_lstm_infer(x, w, bias, u, h0, c0, m, **attrs)
        last = ops.klo_lstm_infer(x, w, bias, u, h0, c0, m, **attrs, sequences=False)
        for a, b in [
            (ys, seq[0]),
            (ys[:, -1], seq[1]),
            (ys[:, -1], last[1]),
            (h, seq[2]),
            (c, seq[3]),
            (h, last[2]),
            (c, last[3]),
        ]:
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
