"""An LSTM layer's inference on NumPy arrays: the fused kernels through plain C calls.

`klo.Predictor` serves small batches, where a TensorFlow op call (eager dispatch, tensor
wrapping, and the op packing both kernels into panels again) costs more than the LSTM
itself. `LstmPlan` packs a layer's kernels once and each call hands NumPy's buffers to
`klo_plan_run` (lstm_capi.cc) through ctypes: no copy in or out, the GIL released while
it runs, the same recurrence and numbers as the op. Several threads share a process-wide
pool that sleeps when idle.

`capi()` is None when the kernels are not loaded (no compiler, KERAS_LSTM_OPT_KERNELS=off):
the Predictor then calls the TensorFlow op.

Example:

    plan = LstmPlan(kernel, recurrent_kernel, bias)      # NumPy float32, Keras's layout
    last = plan(x)                                       # x [B, T, I] -> [B, H]
    ys = plan(x, mask, sequences=True, reverse=True)     # [B, T, H]
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy as np

PRECISIONS = ("float32", "int8")
_LIB: dict[str, Any] = {}
_P, _I64, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int


def capi() -> Any:
    """The kernels' library with its C entry points typed, or None where it is not loaded."""
    if "lib" in _LIB:
        return _LIB["lib"]
    from keras_lstm_opt.models.kernels import library_path, load_kernels

    lib = None
    if load_kernels() is not None:  # also loads TensorFlow's framework library it links to
        lib = ctypes.CDLL(library_path())
        lib.klo_plan_new.restype = _P
        lib.klo_plan_new.argtypes = [_P, _P, _P, _I64, _I64]
        lib.klo_plan_new_int8.restype = _P
        lib.klo_plan_new_int8.argtypes = [_P, _P, _P, _I64, _I64]
        lib.klo_int8_vnni.restype = _INT
        lib.klo_int8_vnni.argtypes = []
        lib.klo_plan_free.restype = None
        lib.klo_plan_free.argtypes = [_P]
        lib.klo_plan_run.restype = _INT
        lib.klo_plan_run.argtypes = [_P, _P, _I64, _I64, _P, _INT, _INT, _P, _P, _I64]
    _LIB["lib"] = lib
    return lib


def int8_vnni() -> bool:
    """Whether the int8 products run on AVX-512 VNNI here (else a plain loop: same numbers,
    slower than float32)."""
    lib = capi()
    return bool(lib is not None and lib.klo_int8_vnni())


def default_threads() -> int:
    """TensorFlow's intra-op threads if set, else the CPUs this process may use."""
    import tensorflow as tf

    set_ = tf.config.threading.get_intra_op_parallelism_threads()
    return int(set_) if set_ else len(os.sched_getaffinity(0))


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


class LstmPlan:
    """One LSTM layer's kernels packed once; calls run the recurrence on NumPy arrays.

    Args:
        kernel: [I, 4H] float32 (Keras's `cell.kernel`; gates i, f, c, o).
        recurrent_kernel: [H, 4H] float32.
        bias: [4H] float32, or None.
        threads: threads per call (default: `default_threads()`).
        precision: "float32" (Keras's numbers, to float rounding), or "int8": each kernel
            column quantised to int8 with its own scale (max |w| / 127), each input row at
            run time with its own, h with 1/127 (it lies in (-1, 1)); int32 sums, float gates
            (lstm_int8.cc).

    Raises:
        RuntimeError: the kernels are not loaded (check `capi()` first).
    """

    def __init__(
        self,
        kernel: np.ndarray,
        recurrent_kernel: np.ndarray,
        bias: np.ndarray | None,
        threads: int | None = None,
        precision: str = "float32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"LstmPlan: precision {precision!r} is not one of {PRECISIONS}")
        lib = capi()
        if lib is None:
            from keras_lstm_opt.models.kernels import kernel_status

            raise RuntimeError(f"LstmPlan: the fused kernels are not loaded ({kernel_status()})")
        w = np.ascontiguousarray(kernel, np.float32)
        u = np.ascontiguousarray(recurrent_kernel, np.float32)
        self.inputs, self.units = int(w.shape[0]), int(u.shape[0])
        if w.shape[1] != 4 * self.units or u.shape != (self.units, 4 * self.units):
            raise ValueError(
                f"LstmPlan: kernel {w.shape} and recurrent kernel {u.shape} are not "
                "[I, 4H] and [H, 4H]"
            )
        b = None if bias is None else np.ascontiguousarray(bias, np.float32)
        self.threads = int(threads or default_threads())
        self._lib, self.precision = lib, precision
        new = lib.klo_plan_new_int8 if precision == "int8" else lib.klo_plan_new
        self._plan = new(
            _address(w), _address(u), None if b is None else _address(b), self.inputs, self.units
        )

    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray | None = None,
        *,
        sequences: bool = False,
        reverse: bool = False,
        zero_output_for_mask: bool = False,
    ) -> np.ndarray:
        """Outputs for x [B, T, I]: every step's [B, T, H] (`sequences`) or the last [B, H].

        `mask` [B, T]: nonzero where a step is real (Keras's masking: a masked step keeps
        the state and outputs the previous output, or zeros with `zero_output_for_mask`).
        """
        x = np.ascontiguousarray(x, np.float32)
        if x.ndim != 3 or x.shape[2] != self.inputs:
            raise ValueError(f"LstmPlan: x has shape {x.shape}, not [B, T, {self.inputs}]")
        batch, steps = int(x.shape[0]), int(x.shape[1])
        if mask is not None:
            mask = np.ascontiguousarray(mask, np.float32)
            if mask.shape != (batch, steps):
                raise ValueError(f"LstmPlan: mask has shape {mask.shape}, not {(batch, steps)}")
        last = np.empty((batch, self.units), np.float32)
        ys = np.empty((batch, steps, self.units), np.float32) if sequences else None
        self._lib.klo_plan_run(
            self._plan,
            _address(x),
            batch,
            steps,
            None if mask is None else _address(mask),
            int(zero_output_for_mask),
            int(reverse),
            None if ys is None else _address(ys),
            _address(last),
            self.threads,
        )
        return last if ys is None else ys

    def __del__(self) -> None:
        plan, self._plan = getattr(self, "_plan", None), None
        if plan:
            self._lib.klo_plan_free(plan)
