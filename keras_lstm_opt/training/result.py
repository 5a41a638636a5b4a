"""What a fit returns, from `Trainer.fit` and from `klo.fit` alike.

A `FitResult` is a dict of what metrics.json holds (the final validation metrics by
their Keras names, `train_seconds`, `samples_per_second`, `weights_digest`, ...), and,
like Keras's `History`, it has `.history` (metric name -> one value per epoch),
`.epoch` and `.model`.

Example:

    result = trainer.fit(x, y, batch_size=32, epochs=3, validation_data=(xv, yv))
    result["val_accuracy"], result["weights_digest"]    # the final metrics
    result.history["loss"]                              # one value per epoch
"""

from __future__ import annotations

from typing import Any


class FitResult(dict[str, Any]):
    """Args:
    metrics: metrics.json's entries.
    history: metric name -> one value per epoch of this process (as Keras's History).
    epoch: the epoch numbers of those values (0-based, as Keras's History).
    model: the trained model.
    """

    def __init__(
        self,
        metrics: dict[str, Any],
        history: dict[str, list[float]] | None = None,
        epoch: list[int] | None = None,
        model: Any = None,
    ) -> None:
        super().__init__(metrics)
        self.history: dict[str, list[float]] = dict(history or {})
        self.epoch: list[int] = list(epoch or [])
        self.model = model
