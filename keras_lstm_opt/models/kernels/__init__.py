"""Build and load the fused LSTM CPU kernels as a TensorFlow op library.

Sources: lstm_kernels.cc (the training ops: forward keeping activations, backward),
lstm_infer.cc (the inference op, nothing kept for a backward pass), lstm_run.h (the
inference recurrence), lstm_capi.cc (the same recurrence as plain C functions on packed
kernels, which `klo.Predictor` calls through ctypes), lstm_gemm.cc (the packed small
matrix products) and lstm_int8.cc (their int8 counterparts), compiled together into one
library.

The kernels are compiled on the machine that runs them, the first time they are
needed, with the compiler flags of the installed TensorFlow and `-march=native` (so
they use this CPU's vector units), into a cache keyed by the source, the TensorFlow
version and the CPU's feature flags: a cache shared by different machines never hands
one of them code for another CPU. `keras-lstm-opt build-kernels` builds ahead of time.
Processes that need the same library at once (the workers of a launch, on a fresh
machine) build it once: the first takes a lock file beside the library, the others wait on
it and load what it built; if that build fails, the next waiter tries its own. Each build
writes a temporary file and renames it into place, so a reader never sees half a library.

When there is no C++ compiler, or the build fails, `load_kernels()` returns None and
FastLSTM runs its pure-TensorFlow loop instead; `kernel_status()` says why.

Environment:
    KERAS_LSTM_OPT_KERNELS: "off" disables the kernels; a directory overrides the
        cache location (default: $KERAS_LSTM_OPT_CACHE/kernels or
        ~/.cache/keras_lstm_opt/kernels).
    CXX: the compiler (default g++, then c++, then clang++).

Example:

    ops = load_kernels()
    if ops is not None:
        ys, h, c, acts, hp, cp, tc = ops.klo_lstm_forward(x, w, b, u, h0, c0, mask)
        ys, y_last, h, c = ops.klo_lstm_infer(x, w, b, u, h0, c0, mask)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from keras_lstm_opt.errors import KernelBuildError

log = logging.getLogger("keras_lstm_opt")

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "lstm_kernels.cc")
SOURCES = tuple(
    os.path.join(HERE, name)
    for name in ("lstm_kernels.cc", "lstm_infer.cc", "lstm_capi.cc", "lstm_gemm.cc", "lstm_int8.cc")
)
HEADERS = (os.path.join(HERE, "lstm_run.h"),)
_lock = threading.Lock()
_state: dict[str, Any] = {"done": False, "ops": None, "status": "not built yet"}


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.machine() + platform.processor()


def find_compiler() -> str | None:
    """The C++ compiler to use: $CXX, else g++, c++ or clang++ on PATH; None if none."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def kernel_dir() -> str:
    """Where compiled kernels are cached."""
    env = os.environ.get("KERAS_LSTM_OPT_KERNELS", "")
    if env and env.lower() != "off":
        return env
    root = os.environ.get("KERAS_LSTM_OPT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_lstm_opt"
    )
    return os.path.join(root, "kernels")


def _commands(cxx: str, objects: list[str], out: str) -> list[list[str]]:
    """One compile command per source (run side by side), then the link."""
    import tensorflow as tf

    flags = ["-O3", "-march=native", "-DNDEBUG", "-fPIC", *tf.sysconfig.get_compile_flags()]
    if "avx512_fp16" in _cpu_flags().split():
        # the kernels are fp32; the Eigen that TensorFlow 2.21 ships does not compile its
        # AVX512-FP16 packet code under GCC 12 (predux_half_dowto4), seen on Sapphire Rapids
        flags.insert(2, "-mno-avx512fp16")
    return [
        *([cxx, *flags, "-c", src, "-o", obj] for src, obj in zip(SOURCES, objects, strict=True)),
        [cxx, "-shared", *objects, "-o", out, *tf.sysconfig.get_link_flags()],
    ]


def _run(commands: list[list[str]]) -> None:
    """Run the commands at once; KernelBuildError with the first failure's output."""
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for cmd in commands
    ]
    failed = None
    for proc in procs:
        try:
            output, _ = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if proc.returncode != 0 and failed is None:
            failed = (proc, output)
    if failed is not None:
        proc, output = failed
        raise KernelBuildError(
            f"compiling {', '.join(SOURCES)} failed (exit {proc.returncode}):\n" + output[-4000:]
        )


def library_path() -> str:
    """The cached library's path for this source, TensorFlow and CPU."""
    import tensorflow as tf

    src = b""
    for source in (*SOURCES, *HEADERS):
        with open(source, "rb") as fh:
            src += fh.read()
    key = hashlib.sha256(
        src + f"{tf.__version__} {tf.sysconfig.CXX11_ABI_FLAG} {_cpu_flags()}".encode()
    ).hexdigest()[:16]
    return os.path.join(kernel_dir(), key, "klo_lstm_kernels.so")


def build_kernels(force: bool = False) -> str:
    """Compile the kernels if the cache lacks them; return the library's path.

    Raises:
        KernelBuildError: no compiler, or the compiler failed (its output attached).
    """
    path = library_path()
    if os.path.exists(path) and not force:
        return path
    cxx = find_compiler()
    if cxx is None:
        raise KernelBuildError(
            "no C++ compiler found (set CXX or install g++); "
            "FastLSTM uses its pure-TensorFlow loop instead"
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _build_lock(os.path.dirname(path)):
        if os.path.exists(path) and not force:
            return path  # another process built it while this one waited
        _compile(cxx, path)
    return path


@contextlib.contextmanager
def _build_lock(directory: str) -> Iterator[None]:
    """Hold `directory`/build.lock (an flock, released when its holder exits or dies).

    Where the lock cannot be had (a lock file of another user's, a file system without
    flock), the build goes on without it, as it would have before the lock.
    """
    try:
        fd = os.open(os.path.join(directory, "build.lock"), os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError:
        fd = -1
    try:
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                from keras_lstm_opt.logs import ensure_visible

                ensure_visible()
                log.info(
                    "waiting for another process's build of FastLSTM's kernels (%s)", directory
                )
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                pass  # no flock here: build unlocked
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # releases the lock


def _compile(cxx: str, path: str) -> None:
    """Compile and link the sources into `path` (through a temporary file)."""
    work = tempfile.mkdtemp(dir=os.path.dirname(path))  # objects and the library, then renamed
    tmp = os.path.join(work, "klo_lstm_kernels.so")
    objects = [os.path.join(work, os.path.basename(src) + ".o") for src in SOURCES]
    *compiles, link = _commands(cxx, objects, tmp)
    from keras_lstm_opt.logs import ensure_visible

    ensure_visible()
    log.info(
        "compiling FastLSTM's fused CPU kernels into %s (once per machine and "
        "TensorFlow version, about 30 s)",
        os.path.dirname(path),
    )
    for cmd in (*compiles, link):
        log.debug("%s", " ".join(cmd))
    try:
        _run(compiles)  # the sources side by side: the build takes as long as the slowest
        _run([link])
        os.replace(tmp, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_kernels() -> ModuleType | None:
    """The op module (`klo_lstm_forward`, `klo_lstm_backward`, `klo_lstm_infer`), or None."""
    if _state["done"]:
        return _state["ops"]
    with _lock:
        if _state["done"]:
            return _state["ops"]
        if os.environ.get("KERAS_LSTM_OPT_KERNELS", "").lower() == "off":
            _state.update(done=True, ops=None, status="disabled (KERAS_LSTM_OPT_KERNELS=off)")
            return None
        try:
            import tensorflow as tf

            path = build_kernels()
            ops = tf.load_op_library(path)
            _state.update(done=True, ops=ops, status=f"loaded {path}")
        except Exception as exc:  # noqa: BLE001 - build or load failed: use the TF loop
            _state.update(done=True, ops=None, status=f"unavailable: {exc}")
            log.warning(
                "fused LSTM kernels unavailable, FastLSTM uses its TensorFlow loop: %s",
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
        return _state["ops"]


def kernel_status() -> str:
    """One line: loaded (and from where), disabled, unavailable (and why), or not built yet."""
    return str(_state["status"])
