"""The real-text bench's verdict per corpus: did ours meet issue 30's two lines, and if not, why.

The lines: ours' best validation accuracy at least the best rival's minus half a point, and
ours reaching the tutorial's best accuracy at least 2x sooner. Where a line is missed the
verdict says why from the run's own figures, so that a table of misses needs no reading of
curves:

* accuracy: how many validation rows the gap is (one row is `100 / V` points on `V` rows,
  so on a small validation set a miss of a row or two is within one run's noise);
* speed, ours never reaching the tutorial's best: the best it reached;
* speed, set-up: the tutorial's best comes before twice ours' set-up (import, pipeline and
  model build, before the first step), so no model could make ours 2x sooner there;
* speed, first epoch: the tutorial's best comes before twice ours' first evaluation (the end
  of its first epoch: the set-up, the graphs' tracing and one epoch's steps), so ours would
  have to evaluate sooner or run its first epoch faster;
* speed, epochs: ours' first evaluation was in time, but it reached the tutorial's best only
  in a later epoch.

Example:

    verdict(rows_of_one_corpus, validation_rows=125)
    # {'accuracy': 'met', 'speed': 'first epoch: ...', 'met': False}
"""

from __future__ import annotations

from typing import Any

__all__ = ["GAP_POINTS", "SLACK", "SPEEDUP", "verdict"]

GAP_POINTS = -0.5  # ours' best minus the best rival's, at least this
SLACK = 1e-6  # points: Keras's accuracies are float32, the rivals' float64
SPEEDUP = 2.0  # the tutorial's time to its best over ours' time to the same accuracy


def _accuracy(
    ours: dict[str, Any], rivals: list[dict[str, Any]], validation_rows: int
) -> str | None:
    if not rivals:
        return None  # not judged
    top = max(rivals, key=lambda r: r["best_val_accuracy"])
    gap = 100 * (ours["best_val_accuracy"] - top["best_val_accuracy"])
    if gap >= GAP_POINTS - SLACK:
        return "met"
    row = 100 / max(validation_rows, 1)
    missed = round(-gap / row)
    return (
        f"{gap:+.1f} points behind {top['contender']} ({top['best_val_accuracy']:.3f}): "
        f"{missed} of {validation_rows} validation rows (one row is {row:.2f} points)"
    )


def _speed(ours: dict[str, Any], tutorial: dict[str, Any] | None) -> str | None:
    if tutorial is None:
        return None  # not judged
    speedup = ours.get("speedup_vs_tutorial")
    if speedup is not None and speedup >= SPEEDUP:
        return "met"
    target, t_tut = tutorial["best_val_accuracy"], tutorial["best_at_seconds"]
    if ours.get("seconds_to_tutorial_best") is None:
        return (
            f"never: ours' best {ours['best_val_accuracy']:.3f} stays below the tutorial's "
            f"{target:.3f}"
        )
    first = ours["points"][0]["wall_seconds"]
    setup = ours.get("setup_seconds")
    before = f" ({setup:.1f} s of it before the first step)" if setup is not None else ""
    if setup is not None and t_tut < SPEEDUP * setup:
        return (
            f"set-up: the tutorial's best comes at {t_tut:.2f} s, ours' set-up (import, "
            f"pipeline, model) takes {setup:.2f} s; {SPEEDUP:g}x would need every step by "
            f"{t_tut / SPEEDUP:.2f} s"
        )
    if t_tut < SPEEDUP * first:
        return (
            f"first epoch: the tutorial's best comes at {t_tut:.1f} s, ours' first epoch "
            f"ends at {first:.1f} s{before}; {SPEEDUP:g}x would need it by {t_tut / SPEEDUP:.1f} s"
        )
    reached = ours["seconds_to_tutorial_best"]
    epoch = next(
        (p["epoch"] for p in ours["points"] if p["wall_seconds"] >= reached), len(ours["points"])
    )
    return (
        f"epochs: ours reaches {target:.3f} in epoch {epoch}, at {reached:.1f} s; "
        f"{SPEEDUP:g}x would need {t_tut / SPEEDUP:.1f} s (its first epoch ends at {first:.1f} s)"
    )


def verdict(rows: list[dict[str, Any]], validation_rows: int) -> dict[str, Any]:
    """Issue 30's two lines for one corpus's rows (the bench's `rows` of one corpus).

    Args:
        rows: one dict per contender, with `contender`, `best_val_accuracy`,
            `best_at_seconds`, `points`, and on ours `seconds_to_tutorial_best`,
            `speedup_vs_tutorial` and (when known) `setup_seconds`.
        validation_rows: the split's validation rows (to say what a gap is in rows).

    Returns:
        `{"accuracy": "met" or why not, "speed": "met" or why not, "met": both met}`;
        a line with nothing to judge it by (no rival, no tutorial run) is None, and so
        is "met" then; `{}` when ours was not run.
    """
    ours = next((r for r in rows if r["contender"] == "ours"), None)
    if ours is None:
        return {}
    tutorial = next((r for r in rows if r["contender"] == "tutorial"), None)
    rivals = [r for r in rows if r["contender"] != "ours"]
    out = {"accuracy": _accuracy(ours, rivals, validation_rows), "speed": _speed(ours, tutorial)}
    if None in out.values():
        return {**out, "met": None}
    return {**out, "met": out["accuracy"] == "met" and out["speed"] == "met"}
