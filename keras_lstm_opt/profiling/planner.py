"""Resource planner: parameters, FLOPs and memory of a training step, from the model.

Memory model (float32, training):
* weights, gradients and two Adam moments: 16 bytes per parameter;
* activations kept for the backward pass of each LSTM layer and direction, per
  example and time step: input projections and gate activations (4H each), the
  backward's gate gradients (4H), states (2H) and outputs (H): 15 x H floats;
  plus the layer input (I floats) and the embedding output.

FLOPs per training step: 3 x 8 x B x T x H x (I + H) per layer and direction (forward
2 x 4H x (I + H) multiply-adds per example and step; backward twice the forward).

Example:

    plan = plan_resources(model, batch=128, time_steps=40, memory_gib=8, examples=19200,
                          epochs=10, samples_per_second=2500)
"""

from __future__ import annotations

from typing import Any

GIB = 1024 ** 3


def lstm_layers(model: Any) -> list[dict[str, int]]:
    """(input width, units, directions) of every LSTM layer in order."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            inner, dirs = layer.forward_layer, 2
        elif isinstance(layer, keras.layers.LSTM):
            inner, dirs = layer, 1
        else:
            continue
        width = int(inner.cell.kernel.shape[0])
        out.append({"inputs": width, "units": int(inner.cell.units), "directions": dirs})
    return out


def plan_resources(model: Any, batch: int, time_steps: float, memory_gib: float,
                   examples: int | None, epochs: int, samples_per_second: float,
                   embedding_dim: int = 0) -> dict[str, Any]:
    layers = lstm_layers(model)
    params = int(model.count_params())
    flops = sum(3 * 8 * batch * time_steps * lay["units"] * (lay["inputs"] + lay["units"])
                * lay["directions"] for lay in layers)
    per_example = 4 * time_steps * (embedding_dim + sum(
        lay["directions"] * (15 * lay["units"]) + lay["inputs"] for lay in layers))
    fixed = 16 * params
    activations = per_example * batch
    largest = int((memory_gib * GIB - fixed) // per_example) if per_example else 0
    steps_per_epoch = (examples or 0) / batch
    epoch_s = (examples or 0) / samples_per_second if samples_per_second else None
    return {
        "params": params,
        "lstm_layers": layers,
        "time_steps": time_steps,
        "flops_per_step": flops,
        "gflops_per_step": flops / 1e9,
        "optimizer_and_weights_mib": fixed / 2 ** 20,
        "activations_mib": activations / 2 ** 20,
        "estimated_training_mib": (fixed + activations) / 2 ** 20,
        "memory_gib": memory_gib,
        "largest_batch_for_memory": max(0, largest),
        "steps_per_epoch": steps_per_epoch,
        "measured_samples_per_second": samples_per_second,
        "estimated_epoch_seconds": epoch_s,
        "estimated_run_seconds": epoch_s * epochs if epoch_s else None,
        "estimates_for_other_targets": {
            "note": "estimates from stated peak figures, not measurements",
            "gpu_a100_fp32_19.5_tflops_at_30pct_s_per_step": flops / (19.5e12 * 0.3),
            "n_workers_s_per_step_at_best": "measured step time / N (linear scaling; "
                                            "collectives make it slower, see the README)",
        },
    }
