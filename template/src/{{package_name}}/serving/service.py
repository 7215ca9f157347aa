"""The prediction service (BentoML).

``POST /predict`` scores records shaped by the data contract, ``POST /feedback`` stores true
outcomes, ``GET /model`` says which model answers; ``/livez``, ``/readyz`` and ``/metrics`` are
BentoML's. Start it with ``make serve``.

With ``APP_SHADOW_ENABLED`` or ``APP_CANARY_SHARE``, the registry's ``challenger`` is scored off the
response path (shadow) or answers a stable share of callers (canary), behind a circuit breaker. A
model that fails on a request is answered for by the baseline files, and the response says so.
"""

import asyncio
import functools
import gc
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Annotated, Any, ClassVar

import bentoml
import pandas as pd
from bentoml.exceptions import BentoMLException, NotFound, ServiceUnavailable
from pydantic import AfterValidator, BaseModel, Field, TypeAdapter, create_model
from pydantic_core import to_json
from sqlalchemy.exc import SQLAlchemyError
from typing_extensions import TypedDict  # pydantic needs it on Python 3.11

from ..audit.prediction_log import (
    AlreadyLabelled,
    PredictionLog,
    now,
    rejected_requests,
    shadow_predictions,
)
from ..config.settings import PACKAGE, Settings
from ..contract.data_contract import DataContract, ProblemType
from ..contract.schemas import (
    ObservedLimits,
    outcome_type,
    printable,
    record_model,
    records_frame,
)
from ..core.process_defaults import apply_process_defaults
from ..models.registry import (
    CHALLENGER,
    LoadedModel,
    aliased_version,
    baseline_from_files,
    client_for,
    load_serving_model,
)
from ..models.scoring import Scores, score
from .api_auth import ANONYMOUS, Authenticator, Permission, parse_tokens
from .http_guards import ClientErrorsAreNotServerErrors, RequestGuard
from .metrics import prediction_buckets, service_metrics
from .micro_batching import ScoringBatcher
from .model_refresh import ChallengerSlot, ModelRefresher
from .pages import api_description
from .rollout import CircuitBreaker, goes_to_canary

logger = logging.getLogger(__name__)


class RequestSchemas:
    """The request models of one contract: built when a service is built, never at import."""

    def __init__(self, contract: DataContract, settings: Settings) -> None:
        record = record_model(contract, settings.extra_fields)
        self.known_fields = frozenset(
            [*contract.feature_names, *filter(None, [contract.id_column])]
        )
        self.records = TypeAdapter(list[record])  # type: ignore[valid-type]
        self.predict = create_model(
            "PredictRequest",
            records=(list[record], Field(min_length=1, max_length=settings.max_batch_size)),  # type: ignore[valid-type]
        )
        self.feedback = create_model(
            "FeedbackRequest",
            prediction_id=(
                Annotated[str, AfterValidator(printable)],
                Field(min_length=1, max_length=80),
            ),
            outcome=(
                outcome_type(contract),
                Field(description=f"The true {contract.target.name}."),
            ),
        )


# A plain dict: per record, a model instance cost more than the baseline's scoring.
class PredictionResult(TypedDict):
    """The answer for one record."""

    prediction_id: Annotated[str, Field(description="Quote it in /feedback with the true outcome.")]
    record_id: Annotated[str | None, Field(description="The record's id column, when it was sent.")]
    prediction: str | float
    confidence: Annotated[float | None, Field(description="A probability; null for regression.")]
    needs_review: Annotated[
        bool,
        Field(description="Confidence below the review threshold, or a value out of range."),
    ]
    out_of_range: Annotated[
        list[str],
        Field(description="Features outside the limits observed in training (still answered)."),
    ]
    explanation: Annotated[str, Field(description="For the baseline: the rule that answered.")]


class PredictResponse(BaseModel):
    """Results in request order, and the model that produced them."""

    request_id: str
    model_name: str
    model_version: str
    route: str = Field(
        description="champion; canary (the challenger answered); or fallback (the model failed "
        "on this request and the baseline files answered)."
    )
    degraded: bool
    results: list[PredictionResult]
    ignored_fields: list[str] = Field(
        description="Fields the contract does not name, left out (APP_EXTRA_FIELDS=ignore): a "
        "misspelt field shows here."
    )


class FeedbackReceipt(BaseModel):
    """Confirms the outcome was stored."""

    prediction_id: str
    stored: bool
    correction: bool = Field(description="It replaced an earlier outcome (kept as history).")


SHOWN_FIELDS = 20
"""Ignored field names listed in a response at most."""
SHADOW_QUEUE = 64
"""Requests waiting for shadow scoring at most; past it, requests are not shadowed (counted)."""


class ServiceState:
    """What the middleware learns from the service instance built later in each worker.

    Which model answers (GET /model), and where a refused request is reported.
    """

    def __init__(self) -> None:
        self.current: dict[str, Any] = {}
        self.on_rejected: Callable[[int, bytes, bytes], None] | None = None

    def model_info(self) -> dict[str, Any]:
        """What GET /model answers."""
        return dict(self.current)

    def report_rejection(self, status: int, request: bytes, answer: bytes) -> None:
        """Hand a refused /predict to this worker's service instance."""
        if self.on_rejected is not None:
            self.on_rejected(status, request, answer)


def refused_fields(answer: bytes, known: frozenset[str]) -> list[str]:
    """The contract's fields that a 4xx answer names, as a bounded set fit for metric labels.

    ``request`` stands for the body as a whole, ``other`` for names the contract does not have.
    """
    try:
        details = json.loads(answer).get("detail")
    except (ValueError, AttributeError):
        return ["request"]
    found: set[str] = set()
    for detail in details if isinstance(details, list) else []:
        loc = detail.get("loc") if isinstance(detail, dict) else None
        if isinstance(loc, list) and len(loc) >= 3 and loc[0] == "records":  # noqa: PLR2004
            found.add(loc[2] if loc[2] in known else "other")
        else:
            found.add("request")
    return sorted(found) or ["request"]


def records_in(request: bytes) -> int:
    """How many records a refused body carried (1 when it cannot be read)."""
    try:
        records = json.loads(request).get("records")
    except (ValueError, AttributeError):
        return 1
    return len(records) if isinstance(records, list) and records else 1


class PredictionHandlers:
    """Answers from the registry's champion, or from the baseline files when that fails.

    Not a service by itself: :func:`build_service` binds it to settings and a contract and makes
    it one. BentoML creates the instance in each worker.
    """

    settings: ClassVar[Settings]
    contract: ClassVar[DataContract]
    schemas: ClassVar[RequestSchemas]
    state: ClassVar[ServiceState]

    def __init__(self) -> None:
        settings, contract = self.settings, self.contract
        target = contract.target
        self.metrics = service_metrics(prediction_buckets(target.minimum, target.maximum))
        self._observed = ObservedLimits(contract)
        self.metrics.announce_features(self._observed.features)
        self.log = PredictionLog(
            settings.prediction_log_url.get_secret_value(),
            self.metrics.log_health(),
            spill_dir=settings.prediction_log_spill_dir,
        )
        self.fallback = baseline_from_files(settings, contract, "the model failed on a request")
        self.scoring = ScoringBatcher(contract, settings.review_threshold, settings.max_batch_size)
        self._use(load_serving_model(settings, contract))
        self.breaker = self._new_breaker()
        rollout = settings.shadow_enabled or settings.canary_share > 0
        self.challenger = ChallengerSlot(settings, self._use_challenger) if rollout else None
        self._shadow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._shadow_waiting = threading.Semaphore(SHADOW_QUEUE)
        if self.challenger is not None:
            try:
                client = client_for(settings)
                self.challenger.follow(aliased_version(client, settings, CHALLENGER))
            except Exception as error:  # the refresher tries again
                logger.warning("Challenger not loaded at start: %s", error)
        # True from the first second: the load above reached the registry unless degraded.
        self.metrics.registry_up.set(int(not self.model.degraded))
        self.refresher = ModelRefresher(
            settings,
            contract,
            lambda: self.model,
            self._use,
            self.metrics.registry_up.set,
            challenger=self.challenger,
            on_error=self.metrics.refresh_errors.inc,
            on_refused=self.metrics.models_refused.inc,
        )
        self.refresher.start()
        self.state.on_rejected = self._refused
        # What is alive now (libraries, the model) stays: full garbage collections then scan only
        # what requests allocate. Without this, they stalled requests for up to 200 ms.
        gc.collect()
        gc.freeze()

    def _new_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(
            self.settings.challenger_max_failures,
            self.settings.challenger_cooldown_seconds,
            on_change=lambda is_open: self.metrics.challenger_off.set(int(is_open)),
        )

    def _use_challenger(self, model: LoadedModel | None) -> None:
        """Shadow and canary use ``model`` from the next request on, with a fresh breaker."""
        self.breaker = self._new_breaker()
        self.metrics.announce_challenger(None if model is None else model.version)
        self.state.current.update(challenger=None if model is None else model.version)

    def _use(self, model: LoadedModel) -> None:
        """Answer with ``model`` from the next request on."""
        self.model = model
        self.metrics.announce(model.name, model.version, model.source, model.degraded)
        self.state.current.update(
            name=model.name,
            version=model.version,
            source=model.source,
            degraded=model.degraded,
            # The reason itself (an exception's text) is in the log, never sent to callers.
            reason_code="champion_unavailable" if model.degraded else None,
            loaded_at=now().isoformat(),
        )
        logger.info("Serving %s version %s", model.name, model.version)

    @bentoml.on_shutdown
    def _write_pending_predictions(self) -> None:
        """On a graceful stop, finish shadow scoring, then write what waits for the log.

        Rows not written within APP_PREDICTION_LOG_STOP_SECONDS are spilled for the next start.
        """
        self.scoring.close()
        self._shadow.shutdown(wait=True, cancel_futures=True)
        self.log.close(self.settings.prediction_log_stop_seconds)

    def __is_ready__(self) -> bool:
        """Ready once a model is loaded."""
        return self.model is not None

    async def predict(self, records: list[BaseModel], ctx: bentoml.Context) -> PredictResponse:
        """Score one or many records."""
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        inputs: list[dict[str, Any]] = self.schemas.records.dump_python(records, by_alias=True)
        ignored = sorted({name for record in records for name in record.model_extra or ()})
        if ignored:  # APP_EXTRA_FIELDS=ignore: neither scored nor logged
            inputs = [
                {k: v for k, v in row.items() if k in self.schemas.known_fields} for row in inputs
            ]
            self.metrics.extra_fields.inc(len(ignored))
        # One model for the whole request, even if a new one is swapped in meanwhile.
        challenger = None if self.challenger is None else self.challenger.model
        model, route, scores = self.model, "champion", None
        if challenger is not None and self._in_canary(ctx, inputs, request_id):
            # Off the event loop, as every model call: other requests and probes go on meanwhile.
            scored = await asyncio.to_thread(
                lambda: self._challenger_score(challenger, records_frame(inputs, self.contract))
            )
            if scored is not None:
                model, route, scores = challenger, "canary", Scores.of(scored)
        if scores is None:
            try:
                scores = await self.scoring.score(model, inputs)
            except Exception:
                logger.exception("Model version %s failed on a request: baseline", model.version)
                model, route = self.fallback, "fallback"
                frame = records_frame(inputs, self.contract)
                scored = await asyncio.to_thread(
                    score, model, frame, self.settings.review_threshold
                )
                scores = Scores.of(scored)
                self.metrics.degraded_answers.inc(len(inputs))
        id_column = self.contract.id_column
        flagged = self._observed.outside(inputs)
        self.metrics.observe_out_of_range(flagged)
        results: list[PredictionResult] = [
            {
                "prediction_id": f"{request_id}-{index}",
                "record_id": row_input.get(id_column) if id_column else None,
                "prediction": prediction,
                "confidence": confidence,
                "needs_review": needs_review or bool(outside),
                "out_of_range": outside,
                "explanation": explanation,
            }
            for index, (row_input, prediction, confidence, needs_review, explanation, outside) in (
                enumerate(
                    zip(
                        inputs,
                        scores.prediction,
                        scores.confidence,
                        scores.needs_review,
                        scores.explanation,
                        flagged,
                        strict=True,
                    )
                )
            )
        ]
        latency_ms = (time.perf_counter() - started) * 1000
        logged_inputs = [to_json(row_input).decode() for row_input in inputs]
        caller = str(ctx.request.scope.get("caller", ANONYMOUS))
        self._log(model, request_id, logged_inputs, results, latency_ms, caller=caller)
        while self.log.congested():  # the audit trail keeps up, or callers wait: nothing dropped
            await asyncio.sleep(0.005)
        self.metrics.observe(
            model.version,
            scores.prediction,
            scores.needs_review,
            self.contract.problem_type is ProblemType.REGRESSION,
        )
        if route == "champion" and challenger is not None and self._shadows():
            self._shadow_later(challenger, inputs, request_id, results)
        # Built from the model's own output, so not validated again.
        return PredictResponse.model_construct(
            request_id=request_id,
            model_name=model.name,
            model_version=model.version,
            route=route,
            degraded=model.degraded,
            results=results,
            ignored_fields=[
                json.dumps(name, ensure_ascii=False)[1:-1][:64] for name in ignored[:SHOWN_FIELDS]
            ],
        )

    def _refused(self, status: int, request: bytes, answer: bytes) -> None:
        """Count a refused /predict per field, and log it for monitoring's rejection rate."""
        fields = refused_fields(answer, self.schemas.known_fields)
        records = records_in(request)
        self.metrics.observe_refused(fields, records)
        row = {
            "created_at": now(),
            "status": status,
            "records": records,
            "fields": ", ".join(fields)[:500],
        }
        self.log.submit([row], table=rejected_requests)

    def _in_canary(self, ctx: bentoml.Context, inputs: list[dict[str, Any]], fallback: str) -> bool:
        """Whether this caller is answered by the challenger (stable per routing key)."""
        if self.settings.canary_share <= 0 or not self.breaker.allows():
            return False
        key = ctx.request.headers.get("x-routing-key")
        if (
            not key
            and self.contract.id_column
            and inputs[0].get(self.contract.id_column) is not None
        ):
            key = str(inputs[0][self.contract.id_column])
        return goes_to_canary(key or fallback, self.settings.canary_share)

    def _challenger_score(
        self, challenger: LoadedModel, frame: pd.DataFrame
    ) -> pd.DataFrame | None:
        """The challenger's scores, timed against its budget; None (and a failure) on error."""
        started = time.perf_counter()
        try:
            scored = score(challenger, frame, self.settings.review_threshold)
        except Exception as error:
            self.metrics.challenger_failures.labels("error").inc()
            self.breaker.failed(f"{type(error).__name__}: {error}")
            return None
        latency_ms = (time.perf_counter() - started) * 1000
        if latency_ms > self.settings.challenger_latency_budget_ms:
            self.metrics.challenger_failures.labels("slow").inc()
            self.breaker.failed(
                f"{latency_ms:.0f} ms, budget {self.settings.challenger_latency_budget_ms:g}"
            )
        else:
            self.breaker.succeeded()
        scored.attrs["latency_ms"] = latency_ms
        return scored

    def _shadows(self) -> bool:
        return (
            self.settings.shadow_enabled
            and self.breaker.allows()
            and random.random() < self.settings.shadow_sample_rate  # noqa: S311 - sampling, not secrets
        )

    def _shadow_later(
        self,
        challenger: LoadedModel,
        inputs: list[dict[str, Any]],
        request_id: str,
        results: list[PredictionResult],
    ) -> None:
        """Score with the challenger on the shadow thread; the response does not wait."""
        if not self._shadow_waiting.acquire(blocking=False):
            self.metrics.shadow_skipped.inc()
            return
        ids = [result["prediction_id"] for result in results]

        def run() -> None:
            try:
                scored = self._challenger_score(challenger, records_frame(inputs, self.contract))
                if scored is not None:
                    self._log_shadow(challenger, request_id, ids, scored)
            except Exception:  # the shadow thread carries on; the error is logged and counted
                logger.exception("Shadow scoring of request %s failed", request_id)
                self.metrics.challenger_failures.labels("error").inc()
            finally:
                self._shadow_waiting.release()

        self._shadow.submit(run)

    def _log_shadow(
        self, challenger: LoadedModel, request_id: str, ids: list[str], scored: pd.DataFrame
    ) -> None:
        created_at = now()
        rows = [
            {
                "prediction_id": prediction_id,
                "request_id": request_id,
                "created_at": created_at,
                "model_name": challenger.name,
                "model_version": challenger.version,
                "prediction": json.dumps(row["prediction"]),
                "confidence": None if math.isnan(row["confidence"]) else row["confidence"],
                "latency_ms": scored.attrs["latency_ms"],
            }
            for prediction_id, row in zip(ids, scored.to_dict(orient="records"), strict=True)
        ]
        self.log.submit(rows, table=shadow_predictions)
        self.metrics.shadow_predictions.inc(len(rows))

    def feedback(
        self, prediction_id: str, outcome: str | float, ctx: bentoml.Context
    ) -> FeedbackReceipt:
        """Store the true outcome of an earlier prediction: once, then corrections by admins."""
        scope = ctx.request.scope
        try:
            if not self.log.has_prediction(prediction_id):
                raise NotFound(f"prediction_id: no prediction '{prediction_id}' in the log")
            correction = self.log.record_feedback(
                prediction_id,
                outcome,
                caller=str(scope.get("caller", ANONYMOUS)),
                corrects=Permission.ADMIN in scope.get("permissions", ()),
            )
        except AlreadyLabelled:
            raise BentoMLException(
                "prediction_id: an outcome is already recorded for this prediction; correcting "
                "it needs a token with the admin scope",
                error_code=HTTPStatus.CONFLICT,
            ) from None
        except SQLAlchemyError as error:
            logger.error("Feedback not stored: %s", str(error).splitlines()[0])
            raise ServiceUnavailable("the prediction log is unavailable; retry later") from None
        return FeedbackReceipt(prediction_id=prediction_id, stored=True, correction=correction)

    def _log(
        self,
        model: LoadedModel,
        request_id: str,
        inputs: list[str],
        results: list[PredictionResult],
        latency_ms: float,
        *,
        caller: str,
    ) -> None:
        created_at = now()
        encoded: dict[str | float, str] = {}  # the records of a request share a few classes
        rows = []
        for row_input, result in zip(inputs, results, strict=True):
            prediction = result["prediction"]
            if prediction not in encoded:
                encoded[prediction] = json.dumps(prediction)
            rows.append(
                {
                    **result,
                    "request_id": request_id,
                    "created_at": created_at,
                    "model_name": model.name,
                    "model_version": model.version,
                    "inputs": row_input,
                    "prediction": encoded[prediction],
                    "latency_ms": latency_ms,
                    "caller": caller,
                }
            )
        self.log.submit(rows)


class DescribedService(bentoml.Service):  # type: ignore[misc] # BentoML's is untyped
    """A BentoML service whose OpenAPI description is its ``description``.

    BentoML's default text links badge images from other sites.
    """

    @property
    def doc(self) -> str:
        """The OpenAPI document's description."""
        return self.description or ""


def build_service(settings: Settings) -> Any:  # noqa: ANN401 - a BentoML service
    """The BentoML service for ``settings``: the contract and its request models read now.

    Tests build services with other settings in one process; `bentoml serve` loads the one of
    the environment (:func:`service_from_environment`).
    """
    contract = DataContract.load(settings.contract_path)
    schemas = RequestSchemas(contract, settings)
    state = ServiceState()
    http_log = logging.getLogger("bentoml._internal.server.http_app")
    if not any(isinstance(item, ClientErrorsAreNotServerErrors) for item in http_log.filters):
        http_log.addFilter(ClientErrorsAreNotServerErrors())
    handlers = type(
        "PredictionService",
        (PredictionHandlers,),
        {
            "settings": settings,
            "contract": contract,
            "schemas": schemas,
            "state": state,
            "predict": bentoml.api(route="/predict", input_spec=schemas.predict)(
                PredictionHandlers.predict
            ),
            "feedback": bentoml.api(route="/feedback", input_spec=schemas.feedback)(
                PredictionHandlers.feedback
            ),
        },
    )
    service = bentoml.service(
        name=PACKAGE,
        description=api_description(contract),
        service_class=DescribedService,
        workers=settings.service_workers,
        traffic={"timeout": 30},
        logging={"access": {"enabled": settings.access_log}},
        tracing={} if settings.trace_requests else {"excluded_urls": ["/predict", "/feedback"]},
    )(handlers)
    # Outermost first: a caller is authenticated before anything else reads its request.
    service.add_asgi_middleware(
        Authenticator,
        tokens=parse_tokens(settings.api_tokens.get_secret_value()),
        allow_anonymous=settings.allow_anonymous,
    )
    service.add_asgi_middleware(
        RequestGuard,
        max_bytes=settings.max_request_bytes,
        model_info=state.model_info,
        on_rejected=state.report_rejection,
        title=f"{PACKAGE}: predictions",
    )
    return service


@functools.cache
def service_from_environment() -> Any:  # noqa: ANN401 - a BentoML service
    """The service of this process's settings (`APP_*`, `.env`), built on first use."""
    apply_process_defaults()
    return build_service(Settings())


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a BentoML service
    """``PredictionService``, built from the environment when first asked for.

    It is what ``bentoml serve <package>.serving.service:PredictionService`` loads.
    """
    if name == "PredictionService":
        return service_from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
