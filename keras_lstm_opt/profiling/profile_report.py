"""`keras-lstm-opt profile`: measure, explain and plan; write report.json / .md / .png.

With the `profile` extra (xprof) installed, a TensorBoard profile of the timed steps is
captured under RUN_DIR/tensorboard (each step marked so that xprof counts it), and
xprof's input-pipeline analysis is read back and shown beside our own figure.

Example:

    report = profile("configs/text.yaml", run_dir="runs/prof")
    report["input_bound_percent"], report["verdict"]
"""

from __future__ import annotations

import glob
import json
import os
import resource
import shutil
from typing import Any

from keras_lstm_opt.config import ExperimentConfig, load_config
from keras_lstm_opt.profiling.analysis import measure, recommendations, verdict
from keras_lstm_opt.profiling.planner import plan_resources
from keras_lstm_opt.signals_deferred import published, publishing


def xprof_available() -> bool:
    try:
        import xprof.convert.raw_to_tool_data  # noqa: F401
    except ImportError:
        return False
    return True


def xprof_input_bound(trace_dir: str) -> dict[str, Any] | None:
    """xprof's input-pipeline analysis of the newest profile under `trace_dir`."""
    from xprof.convert import raw_to_tool_data

    planes = sorted(
        p
        for p in glob.glob(os.path.join(trace_dir, "plugins", "profile", "*", "*.xplane.pb"))
        if not os.path.dirname(p).endswith("_steps")
    )
    if not planes:
        return None
    from keras_lstm_opt.training.xplane_steps import fold_loop_iterations

    folded = fold_loop_iterations(planes[-1])
    plane = folded or planes[-1]
    data, _ = raw_to_tool_data.xspace_to_tool_data([plane], "input_pipeline_analyzer", {})
    tables = json.loads(data)
    rows = []
    for table in tables if isinstance(tables, list) else [tables]:
        cols = [c.get("id") for c in table.get("cols", [])]
        if "stepTimeMs" in cols and "infeedTimeMs" in cols:
            for r in table.get("rows", []):
                vals = {cid: cell.get("v") for cid, cell in zip(cols, r.get("c", []), strict=False)}
                rows.append(vals)
    step = sum(float(r.get("stepTimeMs") or 0) for r in rows)
    infeed = sum(float(r.get("infeedTimeMs") or 0) for r in rows)
    percent = 100 * infeed / step if step else None
    return {
        "steps": len(rows),
        "input_bound_percent": percent,
        "verdict": verdict(percent) if percent is not None else None,
        "xplane": plane,
        "run": os.path.basename(os.path.dirname(plane)),
        "loop_iterations_folded": folded is not None,
    }


def _time_steps(files: Any, cfg: ExperimentConfig) -> float:
    """Mean padded length of a few training batches (the T the step really runs)."""
    from keras_lstm_opt.data.pipeline import make_dataset

    ds = make_dataset(
        cfg.data,
        files.schema,
        files.train,
        cfg.train.batch_size,
        True,
        compression=files.compression,
    )
    lengths = [int(batch[0].shape[1]) for batch in ds.take(5)]  # (x, y) or (x, y, w)
    return sum(lengths) / len(lengths)


def profile(
    config: ExperimentConfig | str | None, run_dir: str, overrides: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config, overrides)
    created = not os.path.exists(run_dir)
    try:
        return _profile(cfg, run_dir)
    except BaseException:  # failed or stopped (Ctrl-C, SIGTERM): a directory it made goes,
        if created and not published(run_dir):  # unless the stop came after the report
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _profile(cfg: ExperimentConfig, run_dir: str) -> dict[str, Any]:
    tb_dir = os.path.join(run_dir, "tensorboard")
    os.makedirs(tb_dir, exist_ok=True)
    capture = cfg.profile.capture and xprof_available()
    # TensorFlow's BFC CPU allocator keeps the statistics the memory figure is read from;
    # the default one does not where TensorFlow leaves oneDNN off (e.g. on AMD EPYC)
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    import tensorflow as tf  # loaded before the baseline: its own memory is not the job's

    from keras_lstm_opt.resources import configure_threads

    # the same pools as `train`, set before the first op initialises TensorFlow's runtime
    threads = configure_threads(
        cfg.distribute.intra_op_threads,
        cfg.distribute.inter_op_threads,
        cfg.data.threads,
        fused_lstm=cfg.model.lstm == "fast",
    )
    tf.constant(0.0).numpy()
    from keras_lstm_opt.config.auto import auto_settings
    from keras_lstm_opt.data.pipeline import resolve_files

    cfg, auto = auto_settings(cfg, resolve_files(cfg.data).schema)  # as `train` decides
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    m = measure(cfg, trace_dir=tb_dir if capture else None)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, files = m.pop("model"), m.pop("files")
    examples = files.schema.get("splits", {}).get("train", {}).get("examples")
    embed = (
        cfg.model.embedding_dim
        if files.schema["features"][files.schema["inputs"]]["dtype"] == "int64"
        else 0
    )
    plan = plan_resources(
        model,
        cfg.train.batch_size,
        _time_steps(files, cfg),
        cfg.profile.memory_gib,
        examples,
        cfg.train.epochs,
        m["training_examples_per_second"],
        embed,
    )
    plan["measured_peak_rss_increase_mib"] = (rss_peak - rss_before) / 1024
    plan["measured_training_mib"] = m["measured_training_mib"]
    plan["estimate_over_measured"] = (
        plan["estimated_training_mib"] / m["measured_training_mib"]
        if m["measured_training_mib"]
        else None
    )
    from keras_lstm_opt.profiling.network import network_plan

    plan["network"] = network_plan(
        model,
        cfg.train.batch_size,
        plan["time_steps"],
        m["step_ms"] / 1e3,
        examples,
        cfg.profile.links,
        cfg.profile.workers,
        cfg.profile.link_efficiency,
    )
    report = {
        **m,
        "threads": threads,
        "auto": auto,
        "plan": plan,
        "recommendations": recommendations(cfg, m),
        "xprof": xprof_input_bound(tb_dir) if capture else None,
        "config": {
            "lstm": cfg.model.lstm,
            "cache": cfg.data.cache,
            "debug_delay_ms": cfg.data.debug_delay_ms,
        },
    }
    from keras_lstm_opt.profiling.report_files import write_report

    with publishing(run_dir):  # a signal now waits: no report half old, half new
        write_report(report, run_dir)
    return report
