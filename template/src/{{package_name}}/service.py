"""The prediction service (BentoML).

``POST /predict`` scores records shaped by the data contract, ``POST /feedback`` stores true
outcomes, ``GET /model`` says which model answers; ``/livez``, ``/readyz`` and ``/metrics`` are
BentoML's. Start it with ``make serve``.
"""

import json
import logging
import math
import time
import uuid
from typing import Any

import bentoml
from bentoml.exceptions import NotFound, ServiceUnavailable
from pydantic import BaseModel, Field, create_model
from sqlalchemy.exc import SQLAlchemyError

from .contract import DataContract, ProblemType
from .contract_schemas import outcome_type, record_model, records_frame
from .http_guards import ClientErrorsAreNotServerErrors, RequestGuard
from .metrics import service_metrics
from .model_refresh import ModelRefresher
from .prediction_log import PredictionLog, now
from .registry import LoadedModel, load_serving_model
from .scoring import score
from .settings import PACKAGE, Settings

logger = logging.getLogger(__name__)
logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorsAreNotServerErrors())

settings = Settings()
contract = DataContract.load(settings.contract_path)
Record = record_model(contract)
PredictRequest = create_model(
    "PredictRequest",
    records=(list[Record], Field(min_length=1, max_length=settings.max_batch_size)),  # type: ignore[valid-type]
)
FeedbackRequest = create_model(
    "FeedbackRequest",
    prediction_id=(str, Field(min_length=1, max_length=80)),
    outcome=(outcome_type(contract), Field(description=f"The true {contract.target.name}.")),
)


class PredictionResult(BaseModel):
    """The answer for one record."""

    prediction_id: str = Field(description="Quote it in /feedback with the true outcome.")
    record_id: str | None = Field(description="The record's id column, when it was sent.")
    prediction: str | float
    confidence: float | None = Field(description="Class probability; null for regression.")
    needs_review: bool = Field(description="Confidence below the review threshold.")
    explanation: str = Field(description="For the baseline: the rule that answered.")


class PredictResponse(BaseModel):
    """Results in request order, and the model that produced them."""

    request_id: str
    model_name: str
    model_version: str
    degraded: bool
    results: list[PredictionResult]


class FeedbackReceipt(BaseModel):
    """Confirms the outcome was stored."""

    prediction_id: str
    stored: bool


_current: dict[str, Any] = {}


def current_model_info() -> dict[str, Any]:
    """What GET /model answers."""
    return dict(_current)


@bentoml.service(
    name=PACKAGE, traffic={"timeout": 30}, logging={"access": {"enabled": settings.access_log}}
)
class PredictionService:
    """Answers from the registry's champion, or from the baseline files when that fails."""

    def __init__(self) -> None:
        self.metrics = service_metrics()
        self.log = PredictionLog(settings.prediction_log_url, self.metrics.log_health())
        self._use(load_serving_model(settings, contract))
        self.refresher = ModelRefresher(
            settings, contract, lambda: self.model, self._use, self.metrics.registry_up.set
        )
        self.refresher.start()

    def _use(self, model: LoadedModel) -> None:
        """Answer with ``model`` from the next request on."""
        self.model = model
        self.metrics.announce(model.name, model.version, model.source, model.degraded)
        _current.update(
            name=model.name,
            version=model.version,
            source=model.source,
            degraded=model.degraded,
            reason=model.reason,
            loaded_at=now().isoformat(),
        )
        logger.info("Serving %s version %s", model.name, model.version)

    @bentoml.on_shutdown
    def _write_pending_predictions(self) -> None:
        """On a graceful stop, write what waits for the prediction log (up to 10 s)."""
        self.log.close()

    def __is_ready__(self) -> bool:
        """Ready once a model is loaded."""
        return self.model is not None

    @bentoml.api(route="/predict", input_spec=PredictRequest)
    async def predict(self, records: list[BaseModel]) -> PredictResponse:
        """Score one or many records."""
        started = time.perf_counter()
        model = self.model  # one model for the whole request, even if a new one is swapped in
        request_id = uuid.uuid4().hex
        inputs = [record.model_dump(by_alias=True) for record in records]
        scored = score(model, records_frame(inputs, contract), settings.review_threshold)
        results = [
            # Built from the model's own output, so not validated again: per record, that cost
            # more than the baseline's scoring.
            PredictionResult.model_construct(
                prediction_id=f"{request_id}-{index}",
                record_id=row_input.get(contract.id_column) if contract.id_column else None,
                prediction=row["prediction"],
                confidence=None if math.isnan(row["confidence"]) else row["confidence"],
                needs_review=row["needs_review"],
                explanation=row["explanation"],
            )
            for index, (row_input, row) in enumerate(
                zip(inputs, scored.to_dict(orient="records"), strict=True)
            )
        ]
        latency_ms = (time.perf_counter() - started) * 1000
        logged_inputs = [record.model_dump_json(by_alias=True) for record in records]
        self._log(model, request_id, logged_inputs, results, latency_ms)
        self.metrics.observe(
            model.version,
            scored["prediction"],
            scored["needs_review"],
            contract.problem_type is ProblemType.REGRESSION,
        )
        return PredictResponse(
            request_id=request_id,
            model_name=model.name,
            model_version=model.version,
            degraded=model.degraded,
            results=results,
        )

    @bentoml.api(route="/feedback", input_spec=FeedbackRequest)
    def feedback(self, prediction_id: str, outcome: str | float) -> FeedbackReceipt:
        """Store the true outcome of an earlier prediction."""
        try:
            if not self.log.has_prediction(prediction_id):
                raise NotFound(f"prediction_id: no prediction '{prediction_id}' in the log")
            self.log.record_feedback(prediction_id, outcome)
        except SQLAlchemyError as error:
            logger.error("Feedback not stored: %s", str(error).splitlines()[0])
            raise ServiceUnavailable("the prediction log is unavailable; retry later") from None
        return FeedbackReceipt(prediction_id=prediction_id, stored=True)

    def _log(
        self,
        model: LoadedModel,
        request_id: str,
        inputs: list[str],
        results: list[PredictionResult],
        latency_ms: float,
    ) -> None:
        created_at = now()
        self.log.submit(
            [
                {
                    "prediction_id": result.prediction_id,
                    "request_id": request_id,
                    "created_at": created_at,
                    "model_name": model.name,
                    "model_version": model.version,
                    "record_id": result.record_id,
                    "inputs": row_input,
                    "prediction": json.dumps(result.prediction),
                    "confidence": result.confidence,
                    "needs_review": result.needs_review,
                    "explanation": result.explanation,
                    "latency_ms": latency_ms,
                }
                for row_input, result in zip(inputs, results, strict=True)
            ]
        )


PredictionService.add_asgi_middleware(  # type: ignore[attr-defined]
    RequestGuard, max_bytes=settings.max_request_bytes, model_info=current_model_info
)
