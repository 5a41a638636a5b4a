"""Our one-line notices reach Python API users too.

The CLI sets up logging itself. A user who calls `klo.fit` or builds a FastLSTM from
plain Python has usually set up nothing, and Python then drops INFO lines: kernel
compilation, early stopping, the best-weight restore and resuming would all go unsaid.
`ensure_visible()` gives the `keras_lstm_opt` logger a handler on standard error, at
INFO, when neither it nor the root logger has one (a user's own logging set-up wins).

Example:

    ensure_visible()
    log.info("compiling ...")   # shown
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("keras_lstm_opt")


def ensure_visible() -> None:
    """Give the `keras_lstm_opt` logger a stderr handler if nothing would print its lines."""
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.propagate = False  # a root handler set up later would print each line twice
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Fixed-width text table of `columns` for each row."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
        return str(v)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(
            v.rjust(w) if i else v.ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    return "\n".join(lines)
