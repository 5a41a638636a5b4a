"""Typed experiment configuration: dataclasses, YAML loading, overrides, validation.

A config is a YAML mapping with the sections `model`, `data`, `train`, `distribute`,
`tune` and `profile`. Every key is optional; missing keys take the dataclass defaults,
which are also what the bundled `configs/default.yaml` spells out.

Validation reports every problem at once as `Problem` records (`ConfigError.problems`),
each naming the key and where the value came from (the YAML file or a `--set`
override); the error's message lists them:

    configs/bad.yaml: model.unts: unknown key (did you mean 'units'?)
    configs/bad.yaml: model.layers: expected an integer, got str 'two'

The package's modules import one way only: `schema` (the dataclasses) <- `parse` (YAML
values, `--set`) and `checks` (cross-key) <- `space` (the tune space) <- this module.

Example:

    cfg = load_config("configs/text.yaml", overrides=["train.epochs=3"])
    cfg.train.epochs  # 3
"""

from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any

import yaml

from keras_lstm_opt.config.checks import cross_field_problems
from keras_lstm_opt.config.parse import build, describe, parse_overrides, set_dotted
from keras_lstm_opt.config.schema import (
    DataConfig,
    DataServiceConfig,
    DistributeConfig,
    ExperimentConfig,
    ModelConfig,
    ProfileConfig,
    RegularizerConfig,
    RegularizersConfig,
    TrainConfig,
    TuneConfig,
    layer_units,
)
from keras_lstm_opt.config.space import space_problems
from keras_lstm_opt.errors import ConfigError, Problem

# The bundled YAML files: keras_lstm_opt/configs (package data), beside this package.
BUNDLED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def bundled_configs() -> list[str]:
    """Names of the configs shipped with the package (`default`, `text`, ...)."""
    return sorted(f[:-5] for f in os.listdir(BUNDLED_DIR) if f.endswith(".yaml"))


def config_path(name_or_path: str | os.PathLike[str]) -> str:
    """A config file's path: an existing file as given, else a bundled config's name
    (`text` or `text.yaml`).

    Raises:
        ConfigError: neither a file nor a bundled name (the message lists the names).
    """
    path = str(name_or_path)
    if os.path.isfile(path):
        return path
    stem = path[:-5] if path.endswith(".yaml") else path
    if os.sep not in stem and stem in bundled_configs():
        return os.path.join(BUNDLED_DIR, stem + ".yaml")
    raise ConfigError(
        [
            Problem(
                "", f"config file not found (bundled configs: {', '.join(bundled_configs())})", path
            )
        ]
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load that refuses a key given twice in one mapping (PyYAML keeps the
    last silently, so a setting written twice would take effect as whichever came last)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (lines {seen[key]} and "
                    f"{key_node.start_mark.line + 1}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: typing.Iterable[str] = (),
    check_paths: bool = True,
) -> ExperimentConfig:
    """Load a YAML config (or the defaults when `path` is None) and apply overrides.

    Args:
        path: YAML file or a bundled config's name (`text`); None means the built-in
            defaults (== configs/default.yaml).
        overrides: `key.sub=value` strings applied after the file.
        check_paths: also check that local data paths exist.

    Raises:
        ConfigError: listing every problem, each with its key and source.
    """
    name = str(path) if path is not None else "<defaults>"
    raw: Any = {}
    if path is not None:
        path = config_path(path)
        try:
            with open(path, encoding="utf-8") as fh:
                raw = yaml.load(fh, Loader=_UniqueKeyLoader) or {}
        except FileNotFoundError:
            raise ConfigError([Problem("", "config file not found", name)]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Problem("", f"not valid YAML: {exc}", name)]) from None
        if not isinstance(raw, dict):
            raise ConfigError(
                [Problem("", f"expected a mapping of sections, got {describe(raw)}", name)]
            )
    cfg = config_from_dict(raw, name, overrides, check_paths)
    # realpath: the clone's configs/ is a link to the bundled folder
    if path is not None and os.path.dirname(os.path.realpath(path)) == os.path.realpath(
        BUNDLED_DIR
    ):
        overridden = {key for key, _ in parse_overrides(overrides)}
        object.__setattr__(cfg, "_bundled", frozenset(set(dotted_keys(raw)) - overridden))
    return cfg


def config_from_dict(
    raw: dict[str, Any],
    name: str = "<dict>",
    overrides: typing.Iterable[str] = (),
    check_paths: bool = True,
) -> ExperimentConfig:
    """Build and validate an ExperimentConfig from a plain mapping (see `load_config`)."""
    raw = yaml.safe_load(yaml.safe_dump(raw))  # deep copy, plain types only
    source: dict[str, str] = {"": name}
    for key, value in parse_overrides(overrides):
        set_dotted(raw, key, value)
        source[key] = "--set"
    cfg, problems = build(ExperimentConfig, raw, "", source)
    # Cross-key checks run too (every problem at once), except on keys already reported.
    reported = {p.key for p in problems}
    later = cross_field_problems(cfg, check_paths)
    if cfg.tune.space:
        later += space_problems(cfg)
    problems += [
        dataclasses.replace(p, source=_source_of(p.key, source))
        for p in later
        if p.key not in reported
    ]
    if problems:
        raise ConfigError(problems)
    return with_given(cfg, dotted_keys(raw))


def bundled_keys(cfg: ExperimentConfig) -> frozenset[str]:
    """The given keys that only a bundled config (`train forecast`, ...) set."""
    bundled = getattr(cfg, "_bundled", None)
    return bundled if isinstance(bundled, frozenset) else frozenset()


def dotted_keys(tree: Any, prefix: str = "") -> list[str]:
    """Every dotted key a mapping spells out (its leaves and their parents)."""
    if not isinstance(tree, dict):
        return []
    keys = []
    for k, v in tree.items():
        keys += [f"{prefix}{k}", *dotted_keys(v, f"{prefix}{k}.")]
    return keys


def changed_keys(cfg: ExperimentConfig) -> frozenset[str]:
    """The dotted keys whose values differ from the built-in defaults."""
    mine, base = config_to_dict(cfg), config_to_dict(ExperimentConfig())

    def walk(a: Any, b: Any, prefix: str) -> list[str]:
        if isinstance(a, dict) and isinstance(b, dict):
            return [k for key in a for k in walk(a[key], b.get(key), f"{prefix}{key}.")]
        return [prefix[:-1]] if a != b else []

    return frozenset(walk(mine, base, ""))


def given_keys(cfg: ExperimentConfig) -> frozenset[str]:
    """The dotted keys the config file and overrides set; for a config built in code,
    whose keys cannot be told apart from the defaults, those that differ from them."""
    given = getattr(cfg, "_given", None)
    return given if isinstance(given, frozenset) else changed_keys(cfg)


def with_given(cfg: ExperimentConfig, keys: typing.Iterable[str]) -> ExperimentConfig:
    """`cfg`, recording `keys` as the ones its caller set (see `given_keys`)."""
    object.__setattr__(cfg, "_given", frozenset(keys))
    return cfg


def _source_of(key: str, source: dict[str, str]) -> str:
    """Where `key`'s value came from: its own entry, else its nearest parent's
    (`--set tune.space=...` is the source of `tune.space.model.units`), else the file."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in source:
            return source[".".join(parts[:n])]
    return source[""]


def config_to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """Plain-dict view of a config (what `save_config` writes)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: ExperimentConfig, path: str | os.PathLike[str]) -> None:
    """Write the resolved config as YAML that `load_config` reads back unchanged."""
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config_to_dict(cfg), fh, sort_keys=False)


__all__ = [
    "BUNDLED_DIR",
    "ConfigError",
    "DataConfig",
    "DataServiceConfig",
    "DistributeConfig",
    "ExperimentConfig",
    "ModelConfig",
    "Problem",
    "ProfileConfig",
    "RegularizerConfig",
    "RegularizersConfig",
    "TrainConfig",
    "TuneConfig",
    "bundled_configs",
    "config_from_dict",
    "config_path",
    "config_to_dict",
    "layer_units",
    "load_config",
    "save_config",
]
