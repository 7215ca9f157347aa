"""Prometheus metrics of the service, beside BentoML's own request count and latency.

``prometheus_client`` is imported when the metrics are created, inside the worker, because it
picks its multi-process mode from ``PROMETHEUS_MULTIPROC_DIR`` at import time.
"""

from collections import Counter
from functools import cache
from typing import Any

from ..audit.prediction_log import LogHealth


@cache
def service_metrics(prediction_buckets: tuple[float, ...]) -> "ServiceMetrics":
    """The metrics of this process (a collector can be registered only once per process)."""
    return ServiceMetrics(prediction_buckets)


def prediction_buckets(minimum: float | None, maximum: float | None) -> tuple[float, ...]:
    """Histogram buckets for predicted values.

    Ten equal steps over the target's range; without one, orders of magnitude (within the bound
    that is known).
    """
    if minimum is not None and maximum is not None and maximum > minimum:
        step = (maximum - minimum) / 10
        return tuple(minimum + step * index for index in range(1, 11))
    magnitudes = [10.0**exponent for exponent in range(-2, 7)]
    edges = sorted({*(-magnitude for magnitude in magnitudes), 0.0, *magnitudes})
    return tuple(
        edge
        for edge in edges
        if (minimum is None or edge > minimum) and (maximum is None or edge <= maximum)
    ) or (0.0 if maximum is None else maximum,)


class ServiceMetrics:
    """Counters and gauges for predictions, the loaded model and the prediction log."""

    def __init__(self, prediction_buckets: tuple[float, ...]) -> None:
        import prometheus_client as prom  # noqa: PLC0415 - see the module docstring

        self._announced: tuple[str, str, str] | None = None
        self._challenger: str | None = None

        self.predictions = prom.Counter(
            "model_predictions_total",
            "Predictions made, by model version and class (`value` for regression)",
            ["version", "outcome"],
        )
        self.prediction_values = prom.Histogram(
            "model_prediction_value",
            "Predicted values (regression), in buckets over the contract's target range",
            ["version"],
            buckets=prediction_buckets,
        )
        self.low_confidence = prom.Counter(
            "model_low_confidence_total", "Predictions flagged needs_review", ["version"]
        )
        self.model_info = prom.Gauge(
            "model_loaded_info",
            "The model that answers (value 1)",
            ["name", "version", "source"],
            multiprocess_mode="livemax",
        )
        self.degraded = prom.Gauge(
            "model_service_degraded",
            "1 when the service answers from the baseline files because the champion failed",
            multiprocess_mode="livemax",
        )
        self.registry_up = prom.Gauge(
            "model_registry_up",
            "1 when the last check of the registry for a new champion succeeded",
            multiprocess_mode="livemin",
        )
        self.degraded_answers = prom.Counter(
            "model_degraded_answers_total",
            "Records answered by the baseline files because the model failed at request time",
        )
        self.challenger_info = prom.Gauge(
            "model_challenger_info",
            "The loaded challenger (value 1), for shadow and canary",
            ["version"],
            multiprocess_mode="livemax",
        )
        self.challenger_off = prom.Gauge(
            "model_challenger_switched_off",
            "1 while the circuit breaker keeps the challenger off",
            multiprocess_mode="livemax",
        )
        self.challenger_failures = prom.Counter(
            "model_challenger_failures_total",
            "Challenger calls that failed (error) or were too slow (slow)",
            ["kind"],
        )
        self.shadow_predictions = prom.Counter(
            "model_shadow_predictions_total", "Records scored by the challenger in shadow mode"
        )
        self.shadow_skipped = prom.Counter(
            "model_shadow_skipped_total", "Requests not shadowed because the shadow queue was full"
        )
        self.log_written = prom.Counter("prediction_log_written_total", "Rows written to the log")
        self.log_failures = prom.Counter(
            "prediction_log_write_failures_total", "Failed writes to the prediction log (retried)"
        )
        self.log_dropped = prom.Counter(
            "prediction_log_dropped_total", "Rows dropped because the log buffer was full"
        )
        self.log_pending = prom.Gauge(
            "prediction_log_pending_rows", "Rows waiting to be written", multiprocess_mode="livesum"
        )
        self.refresh_errors = prom.Counter(
            "model_refresh_errors_total",
            "Unexpected errors of the thread that follows the registry (it carries on)",
        )
        self.out_of_range = prom.Counter(
            "model_input_out_of_range_total",
            "Values outside the limits observed in training, answered and flagged, per feature",
            ["feature"],
        )
        self.extra_fields = prom.Counter(
            "model_request_extra_fields_total",
            "Fields of /predict records that the contract does not name, ignored "
            "(APP_EXTRA_FIELDS=ignore; counted once per name and request)",
        )
        self.records_refused = prom.Counter(
            "model_records_refused_total",
            "Records of /predict requests refused with a 4xx (the whole request is refused)",
        )
        self.refused_fields = prom.Counter(
            "model_refused_requests_total",
            "/predict requests refused with a 4xx, per field of the contract they broke "
            "(`request`: the body as a whole; `other`: a field the contract does not name)",
            ["field"],
        )
        self.models_refused = prom.Counter(
            "model_versions_refused_total",
            "Champions not loaded because they were registered for another contract",
        )
        self.log_dead_letters = prom.Counter(
            "prediction_log_dead_letters_total",
            "Rows the database refused for good, kept in the dead_letters table with the reason",
        )
        self.log_spilled = prom.Counter(
            "prediction_log_spilled_total",
            "Rows not written by a graceful stop, spilled to a file for the next start",
        )
        self.log_replayed = prom.Counter(
            "prediction_log_replayed_total", "Spilled rows queued again at start"
        )
        self.log_lost = prom.Counter(
            "prediction_log_lost_total",
            "Rows neither written, dead-lettered nor spilled (logged with their request ids)",
        )

    def announce(self, name: str, version: str, source: str, degraded: bool) -> None:
        """Publish which model answers; start its series at zero so alerts can use rate().

        The label set it replaces is set to 0: clearing labels does nothing in the multi-process
        mode of `bentoml serve`.
        """
        if self._announced not in (None, (name, version, source)):
            self.model_info.labels(*self._announced).set(0)
        self._announced = (name, version, source)
        self.model_info.labels(name, version, source).set(1)
        self.degraded.set(int(degraded))
        self.low_confidence.labels(version)

    def announce_challenger(self, version: str | None) -> None:
        """Publish which challenger is loaded (the one it replaces is set to 0)."""
        if self._challenger not in (None, version):
            self.challenger_info.labels(self._challenger).set(0)
        self._challenger = version
        self.challenger_off.set(0)
        for kind in ("error", "slow"):
            self.challenger_failures.labels(kind)
        if version is not None:
            self.challenger_info.labels(version).set(1)

    def log_health(self) -> LogHealth:
        """Callbacks that keep the prediction-log metrics current."""
        return LogHealth(
            on_written=self.log_written.inc,
            on_failure=lambda reason: self.log_failures.inc(),
            on_dropped=self.log_dropped.inc,
            on_pending=self.log_pending.set,
            on_dead_letter=self.log_dead_letters.inc,
            on_spilled=self.log_spilled.inc,
            on_replayed=self.log_replayed.inc,
            on_lost=self.log_lost.inc,
        )

    def announce_features(self, observed: list[str]) -> None:
        """Start the per-feature series at zero: a rate() exists before the first flag."""
        for name in observed:
            self.out_of_range.labels(name)
        self.refused_fields.labels("request")

    def observe_refused(self, fields: list[str], records: int) -> None:
        """Count one refused request: its records, and each field it broke."""
        self.records_refused.inc(records)
        for name in fields:
            self.refused_fields.labels(name).inc()

    def observe_out_of_range(self, flagged: list[list[str]]) -> None:
        """Count each feature value outside its observed limits."""
        for names in flagged:
            for name in names:
                self.out_of_range.labels(name).inc()

    def observe(self, version: str, predictions: Any, needs_review: Any, regression: bool) -> None:  # noqa: ANN401
        """Count one batch of predictions, with the same metrics whatever the contract.

        Numbers count as outcome ``value`` and also go to the histogram.
        """
        if regression:
            histogram = self.prediction_values.labels(version)
            for value in predictions:
                histogram.observe(float(value))
            self.predictions.labels(version, "value").inc(len(predictions))
        else:
            for outcome, count in Counter(str(outcome) for outcome in predictions).items():
                self.predictions.labels(version, outcome).inc(count)
        flagged = int(sum(needs_review))
        if flagged:
            self.low_confidence.labels(version).inc(flagged)
