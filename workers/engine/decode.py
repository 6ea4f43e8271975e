"""The decode pipeline: pairs are decoded in a thread pool one chunk ahead of the device."""

from __future__ import annotations

from collections.abc import Callable, Generator
from concurrent.futures import Executor, Future

import torch

from api_schemas.images import ImageLimits
from workers.engine.sources import LoadedPair, PairSource, load_pair
from workers.errors import AuditCancelledError, AuditInputError

Chunk = list[tuple[int, PairSource]]
"""Pairs with their submission index, decoded together and computed as one or more batches."""


class DecodeAhead:
    """Decode chunks of pairs while the previous chunk runs on the device.

    The next chunk's files are submitted to ``pool`` before the current chunk is handed out
    (Pillow releases the GIL while decoding), so decoding overlaps the computation; pairs
    given as tensors are only range-checked, in the calling thread.
    """

    def __init__(
        self,
        pool: Executor,
        limits: ImageLimits,
        should_cancel: Callable[[], bool] | None = None,
    ) -> None:
        self.pool = pool
        self.limits = limits
        self.should_cancel = should_cancel

    def decoded(self, chunks: list[Chunk]) -> Generator[list[LoadedPair], None, None]:
        """Each chunk's decoded pairs, in order.

        Raises:
            AuditCancelledError: ``should_cancel`` returned True before a chunk (the pending
                decodes are cancelled).
            AuditInputError: a pair of the chunk cannot be decoded.
        """
        pending = self._submit(chunks[0])
        for number in range(len(chunks)):
            if self.should_cancel is not None and self.should_cancel():
                for future in pending:
                    future.cancel()
                raise AuditCancelledError("the audit was cancelled")
            loaded = [future.result() for future in pending]
            if number + 1 < len(chunks):
                pending = self._submit(chunks[number + 1])
            yield loaded

    def _submit(self, chunk: Chunk) -> list[Future[LoadedPair]]:
        futures: list[Future[LoadedPair]] = []
        for index, pair in chunk:
            if _in_memory(pair):
                # Nothing to decode: a range check, done here rather than competing for the
                # cores with the batch being computed.
                done: Future[LoadedPair] = Future()
                try:
                    done.set_result(load_pair(index, pair, self.limits))
                except AuditInputError as error:
                    done.set_exception(error)
                futures.append(done)
            else:
                futures.append(self.pool.submit(load_pair, index, pair, self.limits))
        return futures


def _in_memory(pair: PairSource) -> bool:
    sources = (pair.ground_truth, pair.restored, pair.observation)
    return all(s is None or isinstance(s, torch.Tensor) for s in sources)
