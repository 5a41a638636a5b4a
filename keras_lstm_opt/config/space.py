"""The `tune.space` search space: parse, validate, and turn into KerasTuner hyperparameters.

Each entry names a model or train field and one kind of range:

    tune:
      space:
        model.units: {choice: [32, 64, 128]}
        model.layers: {int: [1, 3]}
        train.learning_rate: {float: [1.0e-4, 1.0e-2], log: true}
        model.bidirectional: {fixed: true}

Validation gives one problem per entry, keyed `tune.space.<field>`: an empty choice,
min > max, a log range through zero, an unknown field, a value the field itself would
reject (by its type and range check in `parse`, or a cross-key check in `checks`).
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from keras_lstm_opt.config.checks import cross_field_problems
from keras_lstm_opt.config.parse import build
from keras_lstm_opt.config.schema import ExperimentConfig
from keras_lstm_opt.errors import Problem

KINDS = ("choice", "int", "float", "fixed")
TUNABLE_SECTIONS = ("model", "train")


def _fields(cfg: ExperimentConfig) -> list[str]:
    return [
        f"{section}.{f.name}"
        for section in TUNABLE_SECTIONS
        for f in dataclasses.fields(getattr(cfg, section))
        if not dataclasses.is_dataclass(getattr(getattr(cfg, section), f.name))
    ]


def _value_problem(field: str, value: Any) -> str | None:
    """What the config itself says about `field: value` on top of the defaults (its own
    type and range check first, else a cross-key check), or None when it is fine."""
    section, name = field.split(".", 1)
    cfg, problems = build(ExperimentConfig, {section: {name: value}}, "", {"": "<space>"})
    if not any(p.key == field for p in problems):
        problems += cross_field_problems(cfg, check_paths=False)
    mine = [p.message for p in problems if p.key == field]
    return mine[0] if mine else None


def space_problems(cfg: ExperimentConfig) -> list[Problem]:
    """A `Problem` (key `tune.space.<field>`, no source) for every bad entry of
    `cfg.tune.space`."""
    known = _fields(cfg)
    out = []
    for field, spec in cfg.tune.space.items():
        message = _entry_problem(field, spec, known)
        if message:
            out.append(Problem(f"tune.space.{field}", message))
    return out


def _entry_problem(field: str, spec: Any, known: list[str]) -> str | None:
    """What is wrong with one `field: spec` entry of the space, or None."""
    if field not in known:
        close = difflib.get_close_matches(field, known, n=1)
        hint = (
            f" (did you mean '{close[0]}'?)" if close else " (tunable: model.* and train.* fields)"
        )
        return f"unknown field{hint}"
    if not isinstance(spec, dict) or len([k for k in KINDS if k in spec]) != 1:
        return (
            "expected exactly one of {choice: [...]}, {int: [lo, hi]}, "
            "{float: [lo, hi]}, {fixed: value}"
        )
    extra = set(spec) - set(KINDS) - {"log", "step"}
    if extra:
        return f"unknown option(s) {sorted(extra)}; use log or step"
    kind = next(k for k in KINDS if k in spec)
    arg = spec[kind]
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            return "empty choice: give at least one value"
        values = arg
    elif kind == "fixed":
        values = [arg]
    else:
        ok_type = int if kind == "int" else (int, float)
        if not (
            isinstance(arg, list)
            and len(arg) == 2
            and all(isinstance(v, ok_type) and not isinstance(v, bool) for v in arg)
        ):
            return f"{kind}: expected [min, max] of {kind}s, got {arg!r}"
        lo, hi = arg
        if lo > hi:
            return f"min > max ({lo} > {hi})"
        if spec.get("log") and lo <= 0:
            return f"a log range must be above zero, got [{lo}, {hi}]"
        values = [lo, hi]
    for v in values:
        problem = _value_problem(field, v)
        if problem:
            return f"value {v!r}: {problem}"
    return None


def declare(hp: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Declare every space entry on a KerasTuner `HyperParameters`; return the values."""
    values = {}
    for field, spec in space.items():
        if (
            "choice" in spec
            and all(isinstance(v, bool) for v in spec["choice"])
            and len(set(spec["choice"])) == 2
        ):
            values[field] = hp.Boolean(field)
        elif "choice" in spec:
            values[field] = hp.Choice(field, spec["choice"])
        elif "int" in spec:
            lo, hi = spec["int"]
            values[field] = hp.Int(
                field,
                lo,
                hi,
                step=spec.get("step", 1),
                sampling="log" if spec.get("log") else "linear",
            )
        elif "float" in spec:
            lo, hi = spec["float"]
            values[field] = hp.Float(
                field,
                float(lo),
                float(hi),
                step=spec.get("step"),
                sampling="log" if spec.get("log") else "linear",
            )
        else:
            values[field] = hp.Fixed(field, spec["fixed"])
    return values
