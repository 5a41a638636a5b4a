"""`keras-lstm-opt data make | import | serve`: the dataset commands of the CLI.

`data make` writes an embedded dataset, `data import` (its parser and run in `cli.user_data`)
turns CSV/Parquet/JSON Lines into shards, `data serve` runs a tf.data service for a
command. Each checks its output first and starts TensorFlow only when it needs it
(`start_tensorflow`, from `cli`).

Example (what `cli` does):

    data_command(args, lambda: _tensorflow(args))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from keras_lstm_opt.cli.user_data import add_import_parser


def add_data_parsers(data: argparse.ArgumentParser, verbose: argparse.ArgumentParser) -> None:
    """The subcommands of `data`."""
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    make = dsub.add_parser(
        "make", help="write an embedded dataset as TFRecords + schema.json", parents=[verbose]
    )
    make.add_argument(
        "--task",
        choices=["text", "forecast"],
        required=True,
        help="text: token sequences, 4 classes; forecast: a seasonal series",
    )
    make.add_argument(
        "--examples",
        type=int,
        required=True,
        help="examples in all (about 20%% go to the validation split)",
    )
    make.add_argument("--out", required=True, help="output directory (local or s3://)")
    make.add_argument(
        "--shards", type=int, default=4, help="training shards (default 4; validation gets 1)"
    )
    make.add_argument(
        "--compression",
        choices=["GZIP", "ZLIB", "NONE"],
        default="GZIP",
        help="TFRecord compression (default GZIP)",
    )
    make.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")

    add_import_parser(dsub, verbose)
    serve = dsub.add_parser(
        "serve", help="run a tf.data service: dispatcher + K workers", parents=[verbose]
    )
    serve.add_argument("--workers", type=int, default=2, help="tf.data workers (default 2)")
    serve.add_argument("--port", type=int, default=0, help="dispatcher port (0 = any free)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address given to workers and clients (default 127.0.0.1)",
    )
    serve.add_argument(
        "--network",
        choices=["isolated", "host"],
        default="isolated",
        help="isolated (default): the service and the command after -- run "
        "in a private loopback-only network; host: serve anyone who can "
        "reach this host (TensorFlow binds all interfaces)",
    )
    serve.add_argument(
        "serve_command",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="-- COMMAND: run the service for this command only",
    )


def _data_serve(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    from keras_lstm_opt.data.service import serve_command, serve_forever
    from keras_lstm_opt.launch import netns

    command = args.serve_command
    command = command[1:] if command[:1] == ["--"] else command
    if args.network == "host":
        return (
            serve_command(args.workers, command, args.port, args.host)
            if command
            else serve_forever(args.workers, args.port, args.host)
        )
    if not command:
        print(
            "error: data serve: give the command to serve after --, e.g. keras-lstm-opt "
            "data serve --workers 2 -- keras-lstm-opt train ...; to serve other processes "
            "use --network host (TensorFlow's tf.data servers listen on all interfaces)",
            file=sys.stderr,
        )
        return 2
    if netns.in_isolated_netns():
        netns.loopback_up()
    elif netns.isolation_available():
        netns.reexec_isolated(sys.argv)  # does not return
    else:
        print(f"warning: no private network namespace here: {netns.OPEN_PORTS}", file=sys.stderr)
    start_tensorflow()
    return serve_command(args.workers, command, args.port, args.host)


def data_command(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    """data make, data import or data serve."""
    if args.data_command == "serve":
        return _data_serve(args, start_tensorflow)
    if args.data_command == "import":
        from keras_lstm_opt.cli.user_data import data_import

        return data_import(args, start_tensorflow)
    from keras_lstm_opt.io.writable import check_writable

    check_writable(args.out, "the data directory (--out)")
    start_tensorflow()
    from keras_lstm_opt.data.embedded import write_embedded
    from keras_lstm_opt.data.schema import read_schema

    write_embedded(args.task, args.out, args.examples, args.seed, args.shards, args.compression)
    schema = read_schema(args.out)
    splits = ", ".join(
        f"{k}: {v['examples']} examples in {len(v['files'])} shard(s)"
        for k, v in schema["splits"].items()
    )
    print(f"wrote {args.out} ({splits})")
    return 0
