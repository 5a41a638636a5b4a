"""`keras-lstm-opt config list | show [NAME] | show --resolved [CONFIG] [--set ...]
[--data DIR]`: the bundled configs, and the config as `train` would run it.

`--resolved` merges the file (or the defaults), every `--set` and `--data DIR` (as
`data.path`), reads the data's schema.json and applies `train.auto`'s choices, each
marked on its line with the reason and the value it replaced: what `train` would write to
the run directory's config.yaml, before training. (Auto decides for one replica; with
several, `train` may round the batch size to a multiple of them.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

AddParser = Callable[[str, str], argparse.ArgumentParser]


def add_config_parser(add: AddParser) -> None:
    conf = add("config", "bundled configs, and the config as train would run it")
    csub = conf.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    show = csub.add_parser(
        "show",
        help="print a bundled config (default: default, every key with its default and a "
        "comment); --resolved: the config as train would run it",
    )
    show.add_argument(
        "name",
        nargs="?",
        default=None,
        metavar="CONFIG",
        help="a bundled config's name (`config list` lists them) or, with --resolved, a YAML file",
    )
    show.add_argument(
        "--resolved",
        action="store_true",
        help="merge the file, --set and --data, read the data's schema and apply "
        "train.auto's choices (marked with their reasons)",
    )
    show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, as train takes it (with --resolved)",
    )
    show.add_argument(
        "--data", metavar="DIR", help="the data directory (data.path; with --resolved)"
    )
    csub.add_parser("list", help="list the bundled configs")


def config_command(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    from keras_lstm_opt.config import bundled_configs, config_path
    from keras_lstm_opt.errors import UsageError

    if args.config_command == "list":
        print("\n".join(bundled_configs()))
        return 0
    if not args.resolved:
        if args.overrides or args.data:
            raise UsageError("config show: --set and --data go with --resolved")
        with open(config_path(args.name or "default"), encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
        return 0
    sys.stdout.write(resolved_yaml(args.name, args.overrides, args.data, start_tensorflow))
    return 0


def resolved_yaml(
    config: str | None,
    overrides: list[str],
    data: str | None = None,
    start_tensorflow: Callable[[], None] = lambda: None,
) -> str:
    """The YAML of the config `train` would run, auto's choices marked (see the module)."""
    import yaml

    from keras_lstm_opt.config import config_to_dict, load_config

    cfg = load_config(config, [*overrides, *([f"data.path={data}"] if data else [])])
    start_tensorflow()
    from keras_lstm_opt.config.auto import auto_settings
    from keras_lstm_opt.data.pipeline import resolve_files

    cfg, decided = auto_settings(cfg, resolve_files(cfg.data).schema)
    text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    return _mark(text, decided)


def _mark(text: str, decided: dict[str, dict[str, Any]]) -> str:
    """`text` with `# auto: WHY (was X)` after the line of each decided key."""
    out, section = [], ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.split(":", 1)[0]
        elif line.startswith("  ") and not line.startswith("   ") and ":" in line:
            key = f"{section}.{line.strip().split(':', 1)[0]}"
            if key in decided:
                choice = decided[key]
                line += f"  # auto: {choice['why']} (was {choice['was']!r})"
        out.append(line)
    head = "# the config train would run" + (
        f"; train.auto chose {len(decided)} setting(s), marked below" if decided else ""
    )
    return head + "\n" + "\n".join(out) + "\n"
