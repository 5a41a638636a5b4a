"""Write a profile report as report.json, report.md and report.png."""

from __future__ import annotations

import os
from typing import Any

from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.io.atomic import write_json as write_json_atomic


def _md(r: dict[str, Any]) -> str:
    plan = r["plan"]
    lines = [
        "# Where the training step's time goes",
        "",
        f"**Verdict: {r['verdict']}.** A training step took {r['step_ms']:.1f} ms; the model "
        f"alone, on batches already in memory, takes {r['model_ms_per_step']:.1f} ms. Of the "
        f"step, {r['input_wait_ms_per_step']:.1f} ms ({r['input_bound_percent']:.0f}%) was "
        f"spent waiting for the next batch, and {r['contention_ms_per_step']:.1f} ms "
        f"({r['contention_percent']:.0f}%) is the pipeline's threads competing with the model "
        "for CPU while keeping up. Taking a batch that is already there costs "
        f"{r.get('fetch_ms_per_step', 0.0):.1f} ms per step (the call itself, with any "
        "pipeline).",
        "",
        "| measured | per batch | examples/s |",
        "|---|---|---|",
        f"| input pipeline alone | {r['pipeline_ms_per_batch']:.1f} ms | "
        f"{r['pipeline_examples_per_second']:,.0f} |",
        f"| model alone | {r['model_ms_per_step']:.1f} ms | "
        f"{r['model_examples_per_second']:,.0f} |",
        f"| both (training) | {r['step_ms']:.1f} ms | {r['training_examples_per_second']:,.0f} |",
        "",
    ]
    x = r.get("xprof")
    if x:
        pct = x["input_bound_percent"]
        lines += [
            f"xprof's input-pipeline analysis of the same steps counted {x['steps']} "
            "steps and puts the input share at "
            + (f"{pct:.0f}% ({x['verdict']})." if pct is not None else "n/a.")
            + (
                " (Profile run `" + x["run"] + "`: the LSTM loop's iterations are folded "
                "into their step, see `training/xplane_steps.py`.)"
                if x.get("loop_iterations_folded")
                else ""
            ),
            "",
        ]
    else:
        lines += ['(xprof is not installed: `pip install ".[profile]"` adds its figure.)', ""]
    lines += ["## What to change", ""]
    lines += [f"- {rec['advice']} (because {rec['because']})" for rec in r["recommendations"]]
    lines += [
        "",
        "## Resource plan",
        "",
        f"- {plan['params']:,} parameters; {plan['gflops_per_step']:.2f} GFLOP per training step "
        f"at batch {r['batch_size']} and {plan['time_steps']:.0f} time steps.",
        f"- Memory estimate: {plan['estimated_training_mib']:.0f} MiB "
        f"({plan['optimizer_and_weights_mib']:.1f} MiB weights, gradients and Adam moments, "
        f"{plan['activations_mib']:.0f} MiB activations); measured "
        + (
            f"{plan['measured_training_mib']:.0f} MiB"
            if plan["measured_training_mib"] is not None
            else "not available (this TensorFlow CPU allocator keeps no "
            "statistics; set TF_CPU_ALLOCATOR_USE_BFC=true)"
        )
        + " (TensorFlow's CPU allocator peak over a "
        "step plus weights and optimizer state; the process's peak RSS grew by "
        f"{plan['measured_peak_rss_increase_mib']:.0f} MiB, which includes TensorFlow's own "
        "buffers, traced graphs and the data cache).",
        f"- Largest batch for {plan['memory_gib']:g} GiB: about "
        f"{plan['largest_batch_for_memory']:,}.",
    ]
    if plan["estimated_epoch_seconds"]:
        lines.append(
            f"- At the measured {plan['measured_samples_per_second']:,.0f} samples/s an "
            f"epoch takes about {plan['estimated_epoch_seconds']:.0f} s and the "
            f"configured run about {plan['estimated_run_seconds']:.0f} s."
        )
    if plan.get("network"):
        from keras_lstm_opt.profiling.network import markdown

        lines += markdown(plan["network"])
    return "\n".join(lines) + "\n"


def _png(r: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.bar(["training step"], [r["model_ms_per_step"]], label="model compute")
    a.bar(
        ["training step"],
        [r["contention_ms_per_step"]],
        bottom=[r["model_ms_per_step"]],
        label="CPU contention with the pipeline",
    )
    fetch = r.get("fetch_ms_per_step", 0.0)
    a.bar(
        ["training step"],
        [fetch],
        bottom=[r["model_ms_per_step"] + r["contention_ms_per_step"]],
        label="taking a ready batch",
    )
    a.bar(
        ["training step"],
        [r["input_wait_ms_per_step"]],
        bottom=[r["model_ms_per_step"] + r["contention_ms_per_step"] + fetch],
        label="waiting for input",
    )
    a.set_ylabel("ms per step")
    a.set_title(f"{r['verdict']}: {r['input_bound_percent']:.0f}% input wait")
    a.legend()
    names = ["pipeline alone", "model alone", "training"]
    vals = [
        r["pipeline_examples_per_second"],
        r["model_examples_per_second"],
        r["training_examples_per_second"],
    ]
    bars = b.bar(names, vals, color=["tab:green", "tab:blue", "tab:gray"])
    b.bar_label(bars, fmt="{:,.0f}")
    b.set_ylabel("examples / s")
    b.set_title("throughput")
    for ax in (a, b):
        ax.grid(axis="y", alpha=0.3)
    save_figure(fig, path)


def write_report(report: dict[str, Any], run_dir: str) -> dict[str, str]:
    paths = {k: os.path.join(run_dir, f"report.{k}") for k in ("json", "md", "png")}
    write_json_atomic(paths["json"], report)
    with open(paths["md"], "w", encoding="utf-8") as fh:
        fh.write(_md(report))
    _png(report, paths["png"])
    return paths
