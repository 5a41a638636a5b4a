"""Make xprof count training steps whose graph runs a tf.while_loop (the LSTM recurrence).

xprof groups host events into steps in `EventForest::GroupEvents`: when TensorFlow's
executor events carry loop iteration numbers (`iter_num` > 0, as every lowered
`tf.while_loop` does), `ProcessTensorFlowLoop` makes each loop *iteration* a root event
and ignores the `Trace("train", step_num=..., _r=1)` step markers, so the input-pipeline
analysis finds no training steps at all. This module writes a copy of the captured
XSpace with every `iter_num` set to 0 (nothing else changes: same events, same times),
so that xprof groups by our step markers. The copy is a second profile run,
`<run>_steps`, next to the original; TensorBoard's profile plugin lists both.

Example:

    folded = fold_loop_iterations("runs/p/tensorboard/plugins/profile/2026_11_28/vm.xplane.pb")
"""

from __future__ import annotations

import os


def fold_loop_iterations(xplane_path: str) -> str | None:
    """Write `<run>_steps/<host>.xplane.pb` with loop iterations folded; None if no loops."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as fh:
        space.ParseFromString(fh.read())
    folded = 0
    for plane in space.planes:
        ids = {k for k, v in plane.stat_metadata.items() if v.name == "iter_num"}
        if not ids:
            continue
        for line in plane.lines:
            for event in line.events:
                for stat in event.stats:
                    if stat.metadata_id in ids and (stat.int64_value or stat.uint64_value):
                        stat.int64_value = stat.uint64_value = 0
                        folded += 1
    if not folded:
        return None
    run_dir, host = os.path.split(xplane_path)
    out_dir = run_dir.rstrip(os.sep) + "_steps"
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, host)
    with open(out, "wb") as fh:
        fh.write(space.SerializeToString())
    return out
