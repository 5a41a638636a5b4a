"""Config parsing machinery: YAML values coerced to dataclass field types, per-key range
checks, and `--set key.sub=value` overrides. Generic over dataclasses (`schema` holds
ours); every problem is a `Problem` record with its dotted key and source.

Example:

    cfg, problems = build(TrainConfig, {"epochs": "two"}, "train.", {"": "x.yaml"})
    problems  # [Problem(key='train.epochs', message="expected an integer, ...", ...)]
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any, Literal

import yaml

from keras_lstm_opt.errors import ConfigError, Problem


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    return {
        int: "an integer",
        float: "a number",
        bool: "true/false",
        str: "a string",
        type(None): "null",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Return (ok, value converted to `tp`)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return value in typing.get_args(tp) and type(value) in {
            type(a) for a in typing.get_args(tp)
        }, value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            ok, out = _coerce(value, arg)
            if ok:
                return True, out
        return False, value
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value), value
    if tp is Any:
        return True, value
    if origin is list:
        if not isinstance(value, list):
            return False, value
        out = []
        for item in value:
            ok, conv = _coerce(item, typing.get_args(tp)[0])
            if not ok:
                return False, value
            out.append(conv)
        return True, out
    if tp is type(None):
        return value is None, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        # YAML 1.1 reads 1e-3 (no dot) as a string; people write it that way
        if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
            return True, float(value)
        return False, value
    if tp is str:
        return isinstance(value, str), value
    raise TypeError(f"unsupported config type {tp!r}")


_EXPONENT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def describe(value: Any) -> str:
    """`str 'two'`, `int 3` or `null`: a value as the problems name it."""
    return f"{type(value).__name__} {value!r}" if value is not None else "null"


def _range_problems(
    key: str, value: Any, meta: typing.Mapping[str, Any], source: str
) -> list[Problem]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if v != v and meta.keys() & {"min", "gt", "max"}:  # NaN: every comparison is False
            out.append(Problem(key, "must be a number, got NaN", source))
        if "min" in meta and v < meta["min"]:
            out.append(Problem(key, f"must be >= {meta['min']}, got {v}", source))
        if "gt" in meta and v <= meta["gt"]:
            out.append(Problem(key, f"must be > {meta['gt']}, got {v}", source))
        if "max" in meta and v > meta["max"]:
            out.append(Problem(key, f"must be <= {meta['max']}, got {v}", source))
    return out


def build(cls: type, raw: Any, prefix: str, source: dict[str, str]) -> tuple[Any, list[Problem]]:
    """Build dataclass `cls` from a mapping; collect every problem with its source.

    `prefix` is the dotted key of `raw` plus a dot ("" for the top); `source` maps dotted
    keys to where their value came from ("--set"), "" to the default (the file's name).
    """
    where = source.get(prefix.rstrip("."), source.get("", "<config>"))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return cls(), [
            Problem(
                prefix.rstrip(".") or "<top>", f"expected a mapping, got {describe(raw)}", where
            )
        ]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems: list[Problem] = []
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{prefix}{key}"
        # its own source, else that of a key below it (`--set nosuch.key=1` made `nosuch`)
        below = [v for k, v in source.items() if k.startswith(full + ".")]
        src = source.get(full, below[0] if below else where)
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = (
                f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(fields)})"
            )
            problems.append(Problem(full, f"unknown key{hint}", src))
            continue
        tp = hints[key]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kwargs[key], sub = build(tp, value, full + ".", source)
            problems += sub
            continue
        ok, conv = _coerce(value, tp)
        if not ok:
            problems.append(Problem(full, f"expected {_type_name(tp)}, got {describe(value)}", src))
            continue
        problems += _range_problems(full, conv, fields[key].metadata, src)
        kwargs[key] = conv
    return cls(**kwargs), problems


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `tree["a"]["b"] = value` for "a.b", making (or replacing) mappings on the way."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def parse_overrides(overrides: typing.Iterable[str]) -> list[tuple[str, Any]]:
    """Parse `key.sub=value` strings; values are read as YAML scalars (`3`, `true`, `[1, 2]`)."""
    out = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():  # no key to name: the source is the item itself
            raise ConfigError(
                [Problem("", "expected KEY=VALUE, e.g. train.epochs=3", f"--set {item!r}")]
            )
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(
                [Problem("", f"value is not valid YAML ({exc})", f"--set {item!r}")]
            ) from None
        out.append((key.strip(), value))
    return out


ANYTIME_TRIALS = 10_000  # `tune --budget` without tune.max_trials: trials until the budget


def duration_minutes(text: str) -> float:
    """Minutes in '90s', '10m', '1.5h' or a bare number of minutes; ValueError if the
    text is not a positive duration."""
    scale = {"s": 1 / 60, "m": 1.0, "h": 60.0}.get(text[-1:].lower())
    try:
        minutes = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        minutes = 0.0
    if not 0 < minutes < float("inf"):
        raise ValueError(f"{text!r}: a positive duration such as 90s, 10m or 1.5h")
    return minutes
