"""Appends gathered into batches: one transaction, one tree update and one checkpoint for many records.

Request threads hand admitted records to a Batcher and wait for their answer; one thread takes
what has queued (up to `max_batch`, waiting at most `max_wait` seconds for more once the first
arrives) and appends it in one call. A batch that fails answers each of its records with the
error. `close()` stops taking records and finishes the batch in flight (and what queued before).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from audit.errors import AuditError

T = TypeVar("T")
R = TypeVar("R")


class Closed(AuditError):
    """The batcher is shutting down and takes no more records."""


class Batcher(Generic[T, R]):
    """Feeds items to `append` in batches from one thread; each submit gets its item's result."""

    def __init__(
        self,
        append: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 256,
        max_wait: float = 0.005,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._append = append
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._on_batch = on_batch
        self._queue: queue.Queue[tuple[T, Future[R]] | None] = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="govgate-batcher", daemon=True)
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue an item; its future holds the append's result for it, or the batch's error."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed.is_set():
                raise Closed("the log service is shutting down", "retry against another replica")
            self._queue.put((item, future))
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Take no more items; finish what is queued and in flight (within timeout seconds)."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self._max_wait
            while len(batch) < self._max_batch:
                left = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._flush(batch)
        # whatever was queued before close() is still appended
        rest = []
        while True:
            try:
                left_over = self._queue.get_nowait()
            except queue.Empty:
                break
            if left_over is not None:
                rest.append(left_over)
        for start in range(0, len(rest), self._max_batch):
            self._flush(rest[start : start + self._max_batch])

    def _flush(self, batch: list[tuple[T, Future[R]]]) -> None:
        started = time.monotonic()
        try:
            results = self._append([item for item, _ in batch])
        except BaseException as exc:  # every waiter gets the batch's error, whatever it is
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
        if self._on_batch is not None:
            self._on_batch(len(batch), time.monotonic() - started)
