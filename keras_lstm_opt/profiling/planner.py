"""Resource planner: parameters, FLOPs and memory of a training step, from the model.

Memory model (float32, training), for the fused layer (`model.lstm: fast`):
* weights, gradients and two Adam moments: 16 bytes per parameter;
* activations held at the step's peak, per example and time step: the embedding output
  (or the input features), and per LSTM layer and direction 9 x H floats (gate
  activations 4H, previous h and c 2H, outputs H, and the backward's gate-gradient
  buffer as it fills); a bidirectional layer adds its reversed input (I) and the
  concatenated output (2H). The 9 x H was read off TensorFlow's CPU allocator peak
  (`measured_training_mib` in the profile report) for 1-layer H=16 and H=64 models and
  the 2-layer bidirectional H=128/64 one agrees within 5%. The stock Keras layer
  (`model.lstm: keras`) is reported against the same figure, without a claim.

FLOPs per training step: 3 x 8 x B x T x H x (I + H) per layer and direction (forward
2 x 4H x (I + H) multiply-adds per example and step; backward twice the forward).

Example:

    plan = plan_resources(model, batch=128, time_steps=40, memory_gib=8, examples=19200,
                          epochs=10, samples_per_second=2500)
"""

from __future__ import annotations

from typing import Any

GIB = 1024**3


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


def plan_resources(
    model: Any,
    batch: int,
    time_steps: float,
    memory_gib: float,
    examples: int | None,
    epochs: int,
    samples_per_second: float,
    embedding_dim: int = 0,
) -> dict[str, Any]:
    layers = lstm_layers(model)
    params = int(model.count_params())
    flops = sum(
        3
        * 8
        * batch
        * time_steps
        * lay["units"]
        * (lay["inputs"] + lay["units"])
        * lay["directions"]
        for lay in layers
    )
    first_input = embedding_dim or (layers[0]["inputs"] if layers else 0)
    per_example = (
        4
        * time_steps
        * (
            first_input
            + sum(
                lay["directions"] * 9 * lay["units"]
                + (lay["inputs"] + 2 * lay["units"] if lay["directions"] == 2 else 0)
                for lay in layers
            )
        )
    )
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
        "optimizer_and_weights_mib": fixed / 2**20,
        "activations_mib": activations / 2**20,
        "estimated_training_mib": (fixed + activations) / 2**20,
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
            "collectives make it slower, see docs/reference.md)",
        },
    }
