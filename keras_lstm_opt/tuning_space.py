"""The `tune.space` search space: parse, validate, and turn into KerasTuner hyperparameters.

Each entry names a model or train field and one kind of range:

    tune:
      space:
        model.units: {choice: [32, 64, 128]}
        model.layers: {int: [1, 3]}
        train.learning_rate: {float: [1.0e-4, 1.0e-2], log: true}
        model.bidirectional: {fixed: true}

Validation gives one message per problem, naming the field: an empty choice, min > max,
a log range through zero, an unknown field, a value the field itself would reject.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

KINDS = ("choice", "int", "float", "fixed")
TUNABLE_SECTIONS = ("model", "train")


def _fields(cfg: Any) -> list[str]:
    return [f"{section}.{f.name}" for section in TUNABLE_SECTIONS
            for f in dataclasses.fields(getattr(cfg, section))
            if not dataclasses.is_dataclass(getattr(getattr(cfg, section), f.name))]


def _value_problem(field: str, value: Any) -> str | None:
    """What the config itself says about `field: value`, or None when it is fine."""
    from keras_lstm_opt.config import ConfigError, config_from_dict

    section, name = field.split(".", 1)
    try:
        config_from_dict({section: {name: value}}, "<space>", check_paths=False)
    except ConfigError as exc:
        mine = [p.split(f"{field}: ", 1)[1] for p in exc.problems if f" {field}: " in p]
        return mine[0] if mine else None
    return None


def space_problems(cfg: Any) -> list[tuple[str, str]]:
    """(key, message) for every problem of `cfg.tune.space`."""
    out: list[tuple[str, str]] = []
    known = _fields(cfg)
    for field, spec in cfg.tune.space.items():
        key = f"tune.space.{field}"
        if field not in known:
            close = difflib.get_close_matches(field, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else \
                " (tunable: model.* and train.* fields)"
            out.append((key, f"unknown field{hint}"))
            continue
        if not isinstance(spec, dict) or len([k for k in KINDS if k in spec]) != 1:
            out.append((key, "expected exactly one of {choice: [...]}, {int: [lo, hi]}, "
                             "{float: [lo, hi]}, {fixed: value}"))
            continue
        extra = set(spec) - set(KINDS) - {"log", "step"}
        if extra:
            out.append((key, f"unknown option(s) {sorted(extra)}; use log or step"))
            continue
        kind = next(k for k in KINDS if k in spec)
        arg = spec[kind]
        if kind == "choice":
            if not isinstance(arg, list) or not arg:
                out.append((key, "empty choice: give at least one value"))
                continue
            values = arg
        elif kind == "fixed":
            values = [arg]
        else:
            ok_type = int if kind == "int" else (int, float)
            if not (isinstance(arg, list) and len(arg) == 2 and all(
                    isinstance(v, ok_type) and not isinstance(v, bool) for v in arg)):
                out.append((key, f"{kind}: expected [min, max] of {kind}s, got {arg!r}"))
                continue
            lo, hi = arg
            if lo > hi:
                out.append((key, f"min > max ({lo} > {hi})"))
                continue
            if spec.get("log") and lo <= 0:
                out.append((key, f"a log range must be above zero, got [{lo}, {hi}]"))
                continue
            values = [lo, hi]
        for v in values:
            problem = _value_problem(field, v)
            if problem:
                out.append((key, f"value {v!r}: {problem}"))
                break
    return out


def declare(hp: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Declare every space entry on a KerasTuner `HyperParameters`; return the values."""
    values = {}
    for field, spec in space.items():
        if "choice" in spec and all(isinstance(v, bool) for v in spec["choice"]) and \
                len(set(spec["choice"])) == 2:
            values[field] = hp.Boolean(field)
        elif "choice" in spec:
            values[field] = hp.Choice(field, spec["choice"])
        elif "int" in spec:
            lo, hi = spec["int"]
            values[field] = hp.Int(field, lo, hi, step=spec.get("step", 1),
                                   sampling="log" if spec.get("log") else "linear")
        elif "float" in spec:
            lo, hi = spec["float"]
            values[field] = hp.Float(field, float(lo), float(hi), step=spec.get("step"),
                                     sampling="log" if spec.get("log") else "linear")
        else:
            values[field] = hp.Fixed(field, spec["fixed"])
    return values
