"""Micro-batching: the records of concurrent requests scored in one model call."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract.data_contract import DataContract
from ..contract.schemas import records_frame
from ..models.scoring import Scores, score

if TYPE_CHECKING:
    from ..models.registry import LoadedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Waiting:
    model: "LoadedModel"
    records: list[dict[str, Any]]
    answer: asyncio.Future[Scores]


class ScoringBatcher:
    """Scores requests on one scoring thread; requests that arrive during a call share the next.

    An idle service scores a request at once. Under load, every request that arrived while the
    model was busy goes into the next call (same model, at most ``max_records`` records), so the
    model's fixed cost per call (frame building, pipeline steps) is paid once for all of them.
    Each request gets exactly the scores it would get alone: if a shared call fails, its requests
    are scored one by one, and only the one the model fails on sees the error.
    """

    def __init__(self, contract: DataContract, review_threshold: float, max_records: int) -> None:
        self._contract = contract
        self._review_threshold = review_threshold
        self._max_records = max_records
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")
        self._waiting: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None

    async def score(self, model: "LoadedModel", records: list[dict[str, Any]]) -> Scores:
        """Scores of ``records`` by ``model``, in record order; raises what the model raised."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Scores] = loop.create_future()
        self._waiting.append(_Waiting(model, records, answer))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return await answer

    def close(self) -> None:
        """Finish the call under way; later calls are refused."""
        self._thread.shutdown(wait=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch = self._next_batch()
            try:
                outcomes = await loop.run_in_executor(self._thread, self._score_batch, batch)
            except RuntimeError as error:  # the scoring thread has been shut down
                outcomes = [error] * len(batch)
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.answer.done():  # the caller went away
                    continue
                if isinstance(outcome, Exception):
                    waiting.answer.set_exception(outcome)
                else:
                    waiting.answer.set_result(outcome)

    def _next_batch(self) -> list[_Waiting]:
        """The oldest request, and those after it for the same model while they fit."""
        first = self._waiting[0]
        batch, rest, records = [first], [], len(first.records)
        for waiting in self._waiting[1:]:
            fits = records + len(waiting.records) <= self._max_records
            if waiting.model is first.model and fits:
                batch.append(waiting)
                records += len(waiting.records)
            else:
                rest.append(waiting)
        self._waiting = rest
        return batch

    def _score_batch(self, batch: list[_Waiting]) -> list[Scores | Exception]:
        """On the scoring thread: one call for the whole batch, else one per request."""
        model = batch[0].model
        try:
            scores = self._score(model, [record for w in batch for record in w.records])
        except Exception as error:
            if len(batch) == 1:
                return [error]
            logger.info("A call for %d requests failed; scoring them one by one", len(batch))
            return [self._score_alone(model, waiting.records) for waiting in batch]
        outcomes: list[Scores | Exception] = []
        start = 0
        for waiting in batch:
            outcomes.append(scores.part(start, start + len(waiting.records)))
            start += len(waiting.records)
        return outcomes

    def _score_alone(
        self, model: "LoadedModel", records: list[dict[str, Any]]
    ) -> Scores | Exception:
        try:
            return self._score(model, records)
        except Exception as error:
            return error

    def _score(self, model: "LoadedModel", records: list[dict[str, Any]]) -> Scores:
        frame = records_frame(records, self._contract)
        return Scores.of(score(model, frame, self._review_threshold))
