"""The profile's network plan: for each link rate, how many workers and which traffic
levers finish an epoch soonest (distribute/planner.py does the arithmetic).

Assumptions, stated in the report: one worker per host, each computing its share of the
global batch in the measured step time divided by N (linear scaling of compute), the
exchange at `profile.link_efficiency` of the ring bound (`benchmarks/bench.py --mode
allreduce` measures it: docs/measurements.md, design measurements), and the
embedding rows a worker touches at most its share of the batch x the padded length.

Example:

    plan = network_plan(model, batch=128, time_steps=40, step_seconds=0.012,
                        examples=19200, links=["1gbit"], workers=[1, 2, 4])
"""

from __future__ import annotations

from typing import Any

from keras_lstm_opt.distribute.planner import Option, exchange_bytes, recommend

LEVERS = ("dense", "sparse", "sparse+fp16")


def _table(model: Any) -> tuple[int, int]:
    """(rows, width) of the model's embedding table, (0, 0) without one."""
    import keras

    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim), int(layer.output_dim)
    return 0, 0


def network_plan(
    model: Any,
    batch: int,
    time_steps: float,
    step_seconds: float,
    examples: int | None,
    links: list[str],
    workers: list[int],
    efficiency: float = 0.8,
) -> dict[str, Any]:
    """Options ranked per link (see the module docstring)."""
    from keras_lstm_opt.launch.netns import parse_rate

    params = int(model.count_params()) * 4
    vocab, width = _table(model)
    table = vocab * width * 4
    plans: dict[str, Any] = {}
    for link in links:
        options = []
        for n in workers:
            for lever in LEVERS if vocab else ("dense", "dense+fp16"):
                wire = "float16" if lever.endswith("fp16") else "none"
                if lever.startswith("sparse"):
                    rows = min(vocab, batch / n * time_steps)
                    sent = exchange_bytes(params - table, rows, width, n, wire)
                else:
                    sent = exchange_bytes(params, workers=n, compression=wire)
                options.append(Option(n, lever, step_seconds / n, sent, batch))
        ranked = recommend(options, parse_rate(link), examples or batch, efficiency=efficiency)
        plans[link] = {"best": ranked[0], "options": ranked}
    return {
        "links": plans,
        "embedding_rows": vocab,
        "embedding_width": width,
        "params_bytes": params,
        "link_efficiency": efficiency,
        "assumptions": "one worker per host; compute = measured step / N; exchange at "
        f"{efficiency:g} of the ring bound; touched rows <= batch/N x T",
    }


def markdown(plan: dict[str, Any]) -> list[str]:
    """The report.md section."""
    lines = [
        "",
        "## Network plan",
        "",
        f"Predicted from the measured step ({plan['assumptions']}).",
        "",
        "| link | best | step | samples/s | epoch | plain dense, 2 workers |",
        "|---|---|---|---|---|---|",
    ]
    for link, p in plan["links"].items():
        b = p["best"]
        dense2 = next(
            (o for o in p["options"] if o["workers"] == 2 and o["lever"] == "dense"), None
        )
        lines.append(
            f"| {link} | {b['workers']} worker(s), {b['lever']} | "
            f"{b['step_seconds'] * 1e3:.1f} ms | {b['samples_per_second']:,.0f} | "
            f"{b['epoch_seconds']:.0f} s | "
            + (
                f"{dense2['step_seconds'] * 1e3:.1f} ms, {dense2['epoch_seconds']:.0f} s |"
                if dense2
                else "|"
            )
        )
    return lines
