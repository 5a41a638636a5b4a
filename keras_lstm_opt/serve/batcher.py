"""Dynamic batching: concurrent requests joined into one model call.

A model call has a fixed cost whatever its batch (the kernels' launch, Python, the
framework's dispatch); under load, answering each request with its own call spends most
of the time on that cost. `DynamicBatcher` queues the requests' rows and makes one call
for the rows of every request waiting, up to `max_batch` rows: the first request waits at
most `max_wait_ms` for others to join it (0: only those already queued join). A request
is never split: one with more rows than `max_batch` is a call of its own. One call runs
at a time, in a worker thread, so the event loop keeps accepting requests meanwhile.

Example:

    batcher = DynamicBatcher(lambda rows: run.predict(rows), max_batch=64, max_wait_ms=5)
    predictions = await batcher.submit(["a unit of time", "a large cat"])
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Pending:
    rows: Sequence[Any]
    future: asyncio.Future[list[Any]]
    queued: float = field(default_factory=time.monotonic)


class DynamicBatcher:
    """Joins the rows of concurrent `submit` calls into calls of `predict`.

    Args:
        predict: rows -> one prediction per row (a list, or anything `list()` takes),
            called in a worker thread, one call at a time.
        max_batch: most rows in one call (a larger request is a call of its own).
        max_wait_ms: how long the first queued request waits for others to join.
        on_batch: called after each model call with (rows, seconds), e.g. for metrics.
    """

    def __init__(
        self,
        predict: Callable[[list[Any]], Any],
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self.predict = predict
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="klo-predict")
        self._task: asyncio.Task[None] | None = None
        self._carry: _Pending | None = None  # taken from the queue, too big for its batch

    def start(self) -> None:
        """Start the loop that makes the calls (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Answer what is queued, then stop the loop and the worker thread."""
        while not self._queue.empty() or self._carry is not None:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, rows: Sequence[Any]) -> list[Any]:
        """The predictions for `rows` (in order), from a call shared with other requests."""
        if not len(rows):
            return []
        self.start()
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(rows, future))
        return await future

    async def _take(self) -> list[_Pending]:
        """The next batch: the first request, then others until `max_batch` rows or the
        first one's wait is over."""
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], len(first.rows)
        deadline = first.queued + self.max_wait
        while size < self.max_batch:
            try:
                if self._queue.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    item = await asyncio.wait_for(self._queue.get(), left)
                else:
                    item = self._queue.get_nowait()
            except TimeoutError:
                break
            if size + len(item.rows) > self.max_batch:
                self._carry = item  # it starts the next batch
                break
            batch.append(item)
            size += len(item.rows)
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._take()
            rows = [row for pending in batch for row in pending.rows]
            began = time.perf_counter()
            try:
                out = list(await loop.run_in_executor(self._executor, self.predict, rows))
                if len(out) != len(rows):
                    raise RuntimeError(f"the model answered {len(out)} rows for {len(rows)}")
            except Exception as exc:  # every request of the batch gets the error
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            if self.on_batch is not None:
                self.on_batch(len(rows), time.perf_counter() - began)
            start = 0
            for pending in batch:
                end = start + len(pending.rows)
                if not pending.future.done():  # a client that went away
                    pending.future.set_result(out[start:end])
                start = end
