"""Learning-rate schedules of our own, registered with Keras (saved in model.keras).

Example:

    lr = ScaledSchedule(keras.optimizers.schedules.CosineDecay(1e-3, 1000))
    lr.scale.assign(0.5)   # halve the rate from now on, without retracing
"""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule times a factor that the training loop can lower (loss blow-up
    rollback) without retracing: the factor is a variable read at every step.

    Args:
        schedule: the Keras LearningRateSchedule to scale.
        scale: the initial factor.
    """

    def __init__(self, schedule: Any, scale: float = 1.0) -> None:
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "ScaledSchedule: `schedule` must be a keras.optimizers."
                f"schedules.LearningRateSchedule, got {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.scale = keras.Variable(scale, trainable=False, name="lr_scale")

    def __call__(self, step: Any) -> Any:
        return self.schedule(step) * keras.ops.cast(self.scale, "float32")

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "scale": float(keras.ops.convert_to_numpy(self.scale)),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaledSchedule:
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["scale"])
