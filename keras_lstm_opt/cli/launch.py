"""`keras-lstm-opt launch`: the multi-worker launcher and cluster manifests.

    keras-lstm-opt launch --workers 2 [--max-restarts K] -- keras-lstm-opt train --run-dir DIR
    keras-lstm-opt launch --emit k8s --workers 4 --image IMAGE -- keras-lstm-opt train ...
    keras-lstm-opt launch --emit slurm --workers 4 -- keras-lstm-opt train ...
    keras-lstm-opt launch --emit yarn --workers 4 -- keras-lstm-opt train ...

(`python tools/launch.py ...` is the same.) Local mode starts N workers on 127.0.0.1
with free ports and a TF_CONFIG each, inside a private network namespace by default
(TensorFlow's gRPC servers bind 0.0.0.0; see keras_lstm_opt/launch/netns.py),
prefixes their output with `[worker i]`, stops all of them when one fails, and exits
with the failed worker's status (0 when all succeed). `--emit` prints (or writes to
--out) a Kubeflow TFJob manifest or Indexed Job, a Slurm sbatch script or a YARN
(Skein) spec for the same command.

This module is the only one that uses both halves of keras_lstm_opt.launch: the local
launcher (launcher.py, netns.py) and the cluster manifests (manifests/) never import
each other (an import-linter contract in setup.cfg).
"""

from __future__ import annotations

import argparse
import sys

from keras_lstm_opt.errors import UsageError


def build_parser(prog: str = "keras-lstm-opt launch") -> argparse.ArgumentParser:
    """The launcher's options (everything after `--` is the worker command)."""
    p = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--workers",
        type=int,
        required=True,
        help="number of workers (local processes, or replicas in a manifest)",
    )
    p.add_argument(
        "--max-restarts",
        type=int,
        default=0,
        help="relaunch the whole group this often after a failure (default 0)",
    )
    p.add_argument(
        "--workers-on-restart",
        type=int,
        help="restart with this many workers (elastic resume from the backup; "
        "--emit slurm: a requeued run starts this many)",
    )
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=10.0,
        help="after SIGTERM, how long a worker may take before SIGKILL",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address workers are given in TF_CONFIG (default loopback)",
    )
    p.add_argument(
        "--network",
        choices=["isolated", "host"],
        default="isolated",
        help="isolated (default): run the workers in a private network namespace "
        "so their gRPC ports are unreachable from the network; host: share "
        "the host's network (needed to reach s3:// or hdfs://)",
    )
    p.add_argument(
        "--link",
        metavar="RATE",
        help="simulate a network link of RATE (e.g. 100mbit, 1gbit, 10gbit) out of "
        "each worker: Linux traffic control inside the private network "
        "namespace (needs --network isolated and `tc`); no added latency",
    )
    p.add_argument(
        "--emit", choices=["k8s", "slurm", "yarn"], help="write a cluster manifest instead"
    )
    p.add_argument("--image", help="container image (--emit k8s)")
    p.add_argument("--name", default="keras-lstm-opt", help="job name (--emit)")
    p.add_argument("--port", type=int, default=2222, help="worker port (--emit)")
    p.add_argument("--cpu", help="CPU request and limit per worker (--emit k8s)")
    p.add_argument("--memory", help="memory request and limit per worker (--emit k8s)")
    p.add_argument("--gpus", type=int, default=0, help="GPUs per worker (--emit k8s)")
    p.add_argument(
        "--priority",
        choices=["urgent", "preemptible"],
        help="PriorityClass for the pods (--emit k8s); the partition --priority-partitions "
        "names (--emit slurm)",
    )
    p.add_argument(
        "--k8s-kind",
        choices=["tfjob", "indexed-job"],
        default="tfjob",
        help="Kubeflow TFJob, or a plain Indexed Job + headless Service",
    )
    p.add_argument(
        "--pack-by",
        metavar="LABEL",
        help="keep every worker in one domain of this node label, e.g. "
        "topology.kubernetes.io/zone (required pod affinity; --emit k8s)",
    )
    p.add_argument(
        "--spread-by",
        metavar="LABEL",
        help="spread the workers evenly over this node label's values, e.g. "
        "kubernetes.io/hostname: one per host (topology spread, max skew 1; "
        "with --pack-by, give a narrower label; --emit k8s)",
    )
    p.add_argument(
        "--mesh",
        choices=["none", "istio", "linkerd"],
        default="none",
        help="join this service mesh and require its mutual TLS on the worker "
        "port (TensorFlow's gRPC is plain text otherwise; --emit k8s)",
    )
    p.add_argument("--time", help="Slurm time limit (--emit slurm)")
    p.add_argument(
        "--tasks-per-node",
        type=int,
        default=1,
        help="workers on each node (--emit slurm; each gets the port --port + its rank there)",
    )
    p.add_argument("--partition", help="Slurm partition (--emit slurm)")
    p.add_argument("--qos", help="Slurm quality of service (--emit slurm)")
    p.add_argument(
        "--priority-partitions",
        default="urgent=high,preemptible=low",
        metavar="MAP",
        help="the partitions --priority names (--emit slurm; default %(default)s; '' to pick none)",
    )
    p.add_argument(
        "--priority-qos",
        default="",
        metavar="MAP",
        help="the QOS --priority names as well, e.g. urgent=high,preemptible=low (--emit "
        "slurm; default none: clusters that rank jobs by QOS)",
    )
    p.add_argument(
        "--signal",
        type=int,
        metavar="SECONDS",
        help="SIGTERM to the tasks this many seconds before --time runs out, so that they "
        "save a backup (--emit slurm; default 120 with a --time of 5 minutes or more)",
    )
    p.add_argument("--out", help="write the manifest here instead of stdout")
    return p


def main(
    argv: list[str] | None = None,
    prog: str = "keras-lstm-opt launch",
    may_reexec: bool | None = None,
) -> int:
    """Parse the launcher's arguments (`argv`, default sys.argv[1:]) and run it.

    `may_reexec`: re-run this command inside a private network namespace (default: when
    `argv` came from the command line)."""
    argv_is_sys = argv is None if may_reexec is None else may_reexec
    argv = list(sys.argv[1:] if argv is None else argv)
    raw_argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    else:
        command = []
    p = build_parser(prog)
    args = p.parse_args(argv)
    if not command:
        p.error("give the worker command after --, e.g. -- keras-lstm-opt train --run-dir DIR")
    if args.workers < 1:
        p.error("--workers must be >= 1")

    if args.emit:
        from keras_lstm_opt.launch.manifests.k8s import k8s_manifests, to_yaml
        from keras_lstm_opt.launch.manifests.slurm import (
            default_signal,
            sbatch,
            slurm_partition,
        )

        if args.emit == "k8s":
            if not args.image:
                p.error("--emit k8s needs --image")
            try:
                text = to_yaml(
                    k8s_manifests(
                        command,
                        args.workers,
                        args.image,
                        args.name,
                        args.port,
                        args.max_restarts,
                        args.cpu,
                        args.memory,
                        args.gpus,
                        args.priority,
                        args.k8s_kind,
                        pack_by=args.pack_by,
                        spread_by=args.spread_by,
                        mesh=args.mesh,
                    )
                )
            except UsageError as exc:
                p.error(str(exc))
        elif args.emit == "yarn":
            from keras_lstm_opt.launch.manifests.yarn import yarn_spec

            text = yarn_spec(
                command,
                args.workers,
                args.name,
                args.port,
                args.max_restarts,
                int(float(args.cpu or 1)),
                args.memory or "4 GiB",
            )
        else:
            try:
                text = sbatch(
                    command,
                    args.workers,
                    args.name,
                    args.port,
                    args.max_restarts,
                    args.time,
                    tasks_per_node=args.tasks_per_node,
                    partition=slurm_partition(
                        args.partition,
                        args.priority if args.priority_partitions else None,
                        args.priority_partitions,
                    ),
                    qos=slurm_partition(args.qos, args.priority, args.priority_qos, "qos"),
                    signal_seconds=args.signal
                    if args.signal is not None
                    else default_signal(args.time),
                    workers_on_restart=args.workers_on_restart,
                )
            except UsageError as exc:
                p.error(str(exc))
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return 0

    from keras_lstm_opt.launch import netns
    from keras_lstm_opt.launch.launcher import launch

    try:
        rate = netns.parse_rate(args.link) if args.link else None
    except UsageError as exc:
        p.error(str(exc))
    if rate and args.network == "host":
        p.error(
            "--link shapes the private network namespace's loopback; it cannot be "
            "combined with --network host (shaping the host's network needs root and "
            "would slow everything on it)"
        )
    if netns.in_isolated_netns():
        netns.loopback_up()
    elif args.network == "isolated" and argv_is_sys and netns.isolation_available():
        netns.reexec_isolated(["-m", "keras_lstm_opt.cli", "launch", *raw_argv])
    else:
        why = (
            "--network host"
            if args.network == "host"
            else "no private network namespace here (unshare -rn failed, or not run as a script)"
        )
        if rate:
            p.error(f"--link needs the private network namespace: {why}")
        print(f"launch: warning: {why}: {netns.OPEN_PORTS}", file=sys.stderr, flush=True)
    try:
        return launch(
            command,
            args.workers,
            args.max_restarts,
            args.host,
            args.grace_seconds,
            workers_on_restart=args.workers_on_restart,
            shaper=(lambda ports: netns.shape_ports(ports, rate)) if rate else None,
        )
    except UsageError as exc:  # e.g. --link where the kernel lacks htb
        print(f"launch: error: {exc}", file=sys.stderr, flush=True)
        return 2
