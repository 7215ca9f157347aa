"""The monitoring job: recent predictions against the champion's reference data.

One run reads the window of the prediction log, validates it with the contract's suite, computes
drift with Evidently, adds live performance from feedback, writes reports (HTML for people, JSON
for machines, a Prometheus textfile for alerting), logs them to MLflow, and raises an alert (and
optionally retraining) when a threshold is reached.
"""

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from .alerts import Alert, Notifier
from .contract import DataContract
from .contract_schemas import cast_features
from .drift import PREDICTION, DriftReport, DriftResult, compute_drift
from .errors import MonitoringError
from .prediction_log import now, read_window
from .scoring import score
from .settings import PACKAGE, Settings
from .validation import ValidationReport, validate

logger = logging.getLogger(__name__)

Trigger = Callable[[Alert], str]
"""Starts retraining for an alert; returns what it started, for the report."""


class Status(StrEnum):
    """What a monitoring run concluded."""

    NO_DRIFT = "no_drift"
    DRIFT = "drift"
    INVALID_DATA = "invalid_data"
    TOO_LITTLE_DATA = "too_little_data"


EXIT_TOO_LITTLE_DATA = 3


@dataclass(frozen=True)
class Thresholds:
    """When drift becomes an alert."""

    share: float
    key_features: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, contract: DataContract) -> "Thresholds":
        """Thresholds from the settings; key features must be features of the contract."""
        unknown = sorted(set(settings.drift_key_features) - set(contract.feature_names))
        if unknown:
            raise MonitoringError(
                f"APP_DRIFT_KEY_FEATURES names {', '.join(unknown)}, not features of the contract"
            )
        return cls(settings.drift_share_threshold, tuple(settings.drift_key_features))

    def reasons(self, result: DriftResult) -> list[str]:
        """Why ``result`` is an alert; empty when it is not."""
        found: list[str] = []
        if result.share >= self.share:
            found.append(
                f"{result.share:.0%} of features drifted (alert at {self.share:.0%}): "
                + ", ".join(result.drifted_features)
            )
        key = [name for name in self.key_features if name in result.drifted_features]
        if key:
            found.append(f"key feature(s) drifted: {', '.join(key)}")
        return found


@dataclass(frozen=True)
class Performance:
    """Live quality over the window, from the outcomes sent to /feedback."""

    labelled_rows: int
    metric: str
    value: float | None


def live_performance(window: pd.DataFrame, contract: DataContract) -> Performance:
    """Accuracy (classification) or mean absolute error (regression) where feedback exists."""
    labelled = window[window["outcome"].notna()]
    if contract.target.classes is None:
        errors = (pd.to_numeric(labelled["prediction"]) - pd.to_numeric(labelled["outcome"])).abs()
        value = float(errors.mean()) if len(labelled) else None
        return Performance(len(labelled), "mean_absolute_error", value)
    hits = labelled["prediction"].astype(str) == labelled["outcome"].astype(str)
    return Performance(len(labelled), "accuracy", float(hits.mean()) if len(labelled) else None)


@dataclass
class MonitorSummary:
    """Everything one run found; written as JSON and logged to MLflow."""

    status: Status
    checked_at: str
    model: dict[str, str]
    window: dict[str, Any]
    reference: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None
    alert: list[str] = field(default_factory=list)
    retraining: str | None = None

    def exit_code(self, fail_on_drift: bool) -> int:
        """0 no drift; 1 invalid data, or drift when configured; 3 too little data."""
        if self.status is Status.TOO_LITTLE_DATA:
            return EXIT_TOO_LITTLE_DATA
        if self.status is Status.INVALID_DATA or (self.status is Status.DRIFT and fail_on_drift):
            return 1
        return 0

    def text(self) -> str:
        """The outcome for the terminal."""
        lines = [
            f"{self.status.value}: {self.window['rows']} predictions; champion "
            f"{self.model.get('name')} version {self.model.get('version')}"
        ]
        if self.status is Status.TOO_LITTLE_DATA:
            lines.append(
                f"  too little data to judge drift: {self.window['rows']} predictions, "
                f"{self.window['min_rows']} needed (APP_MONITOR_MIN_ROWS)"
            )
        if self.drift is not None:
            lines.append(
                f"  drift share {self.drift['share']:.0%} "
                f"({len(self.drift['drifted_features'])} of {len(self.drift['features'])} features)"
            )
            for column in [*self.drift["features"], self.drift["prediction"]]:
                if column is not None:
                    flag = "DRIFT" if column["drifted"] else "ok"
                    lines.append(
                        f"    {column['column']:<28} {flag:<5} {column['method']} "
                        f"{column['score']:.3f} (threshold {column['threshold']:g})"
                    )
        if self.performance is not None:
            value = self.performance["value"]
            shown = "no feedback in the window" if value is None else f"{value:.3f}"
            lines.append(
                f"  live {self.performance['metric']}: {shown} "
                f"({self.performance['labelled_rows']} labelled)"
            )
        lines += [f"  ALERT: {reason}" for reason in self.alert]
        if self.retraining:
            lines.append(f"  retraining: {self.retraining}")
        return "\n".join(lines)


def _summary_of(drift: DriftResult) -> dict[str, Any]:
    return {**asdict(drift), "share": drift.share, "drifted_features": drift.drifted_features}


def _validated(window: pd.DataFrame, contract: DataContract) -> ValidationReport:
    return validate(
        window[[name for name in contract.feature_names if name in window]],
        contract,
        source="prediction_window",
        require_id=False,
    )


def _with_predictions(
    reference: pd.DataFrame, settings: Settings, contract: DataContract
) -> pd.DataFrame:
    """The reference data with the champion's predictions on it, for prediction drift."""
    from .registry import load_serving_model  # noqa: PLC0415 - MLflow is slow to import

    model = load_serving_model(settings, contract)
    features = cast_features(reference, contract)
    scored = score(model, features, settings.review_threshold)
    return reference.assign(**{PREDICTION: scored["prediction"].to_numpy()})


def monitor(
    settings: Settings,
    contract: DataContract,
    reference: pd.DataFrame,
    *,
    model: dict[str, str],
    notify: Sequence[Notifier] = (),
    trigger: Trigger | None = None,
) -> tuple[MonitorSummary, DriftReport | None]:
    """One monitoring run over the configured window of the prediction log."""
    thresholds = Thresholds.from_settings(settings, contract)
    since = (
        None
        if settings.monitor_window_hours is None
        else now() - timedelta(hours=settings.monitor_window_hours)
    )
    window = read_window(
        settings.prediction_log_url, rows=settings.monitor_window_rows, since=since
    )
    summary = MonitorSummary(
        status=Status.NO_DRIFT,
        checked_at=now().isoformat(),
        model=model,
        window={
            "rows": len(window),
            "min_rows": settings.monitor_min_rows,
            "max_rows": settings.monitor_window_rows,
            "hours": settings.monitor_window_hours,
            "first": str(window["created_at"].min()) if len(window) else None,
            "last": str(window["created_at"].max()) if len(window) else None,
        },
        reference={"rows": len(reference)},
    )
    if len(window) < settings.monitor_min_rows:
        summary.status = Status.TOO_LITTLE_DATA
        return summary, None
    validation = _validated(window, contract)
    summary.validation = {"passed": validation.passed, "summary": validation.summary()}
    if not validation.passed:
        summary.status = Status.INVALID_DATA
        summary.alert = [f"logged traffic breaks the data contract: {validation.summary()}"]
        _notify(Alert(f"{PACKAGE}: invalid data in the prediction log", summary.alert), notify)
        return summary, None
    report = compute_drift(
        _with_predictions(reference, settings, contract),
        window,
        contract,
        share_threshold=settings.drift_share_threshold,
        method=settings.drift_method,
    )
    summary.drift = _summary_of(report.result)
    summary.performance = asdict(live_performance(window, contract))
    summary.alert = thresholds.reasons(report.result)
    if summary.alert:
        summary.status = Status.DRIFT
        alert = Alert(
            f"{PACKAGE}: drift in the last {len(window)} predictions",
            summary.alert,
            {"share": report.result.share, "drifted": report.result.drifted_features},
        )
        _notify(alert, notify)
        if trigger is not None:
            summary.retraining = trigger(alert)
    return summary, report


def _notify(alert: Alert, notify: Sequence[Notifier]) -> None:
    """Every notifier gets the alert; one that fails (a custom one, say) stops nothing else."""
    for notifier in notify:
        try:
            notifier.notify(alert)
        except Exception:
            logger.exception("Alert not delivered by %s", type(notifier).__name__)


def write_reports(
    summary: MonitorSummary, report: DriftReport | None, folder: Path
) -> dict[str, Path]:
    """``drift.json`` (machines), ``drift.html`` (people), ``drift.prom`` (Prometheus)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / f"drift.{kind}" for kind in ("json", "html", "prom")}
    paths["json"].write_text(json.dumps(asdict(summary), indent=2, default=str), "utf-8")
    if report is not None:
        report.save_html(paths["html"])
    else:
        paths["html"].write_text(
            "<!doctype html><meta charset='utf-8'><title>Drift</title>"
            f"<h1>No drift report: {summary.status.value}</h1><pre>{summary.text()}</pre>",
            "utf-8",
        )
    _write_textfile(summary, paths["prom"])
    return paths


def _write_textfile(summary: MonitorSummary, path: Path) -> None:
    """Gauges for node_exporter's textfile collector (or any scraper of a file)."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile  # noqa: PLC0415

    registry = CollectorRegistry()

    def gauge(name: str, text: str, value: float | None) -> None:
        Gauge(f"{PACKAGE}_{name}", text, registry=registry).set(
            math.nan if value is None else value
        )

    drift = summary.drift or {}
    performance = summary.performance or {}
    status = Gauge(
        f"{PACKAGE}_monitor_status",
        "Last monitoring run: 1 for its status",
        ["status"],
        registry=registry,
    )
    for option in Status:
        status.labels(option.value).set(1 if option is summary.status else 0)
    gauge("drift_share", "Share of features that drifted in the last window", drift.get("share"))
    gauge(
        "drifted_features",
        "Features that drifted",
        len(drift.get("drifted_features", [])) if drift else None,
    )
    prediction = drift.get("prediction") or {}
    gauge(
        "prediction_drift",
        "1 when the predictions drifted",
        float(prediction["drifted"]) if prediction else None,
    )
    gauge("monitor_window_rows", "Predictions in the monitored window", summary.window["rows"])
    if performance:
        gauge(f"live_{performance['metric']}", "Live quality from /feedback", performance["value"])
    gauge(
        "monitor_last_run_timestamp_seconds",
        "When monitoring last ran",
        pd.Timestamp(summary.checked_at).timestamp(),
    )
    write_to_textfile(str(path), registry)


def log_to_mlflow(settings: Settings, summary: MonitorSummary, paths: dict[str, Path]) -> str:
    """Log the run's figures and reports to the project's MLflow experiment; returns the run id."""
    import mlflow  # noqa: PLC0415 - slow import

    from .registry import connect, experiment_id  # noqa: PLC0415

    client = connect(settings)
    figures = {"window_rows": float(summary.window["rows"])}
    if summary.drift is not None:
        figures["drift_share"] = summary.drift["share"]
        figures["drifted_features"] = float(len(summary.drift["drifted_features"]))
    if summary.performance is not None and summary.performance["value"] is not None:
        figures[f"live_{summary.performance['metric']}"] = summary.performance["value"]
    with mlflow.start_run(
        experiment_id=experiment_id(client, settings), run_name=f"monitor {summary.checked_at}"
    ) as run:
        mlflow.set_tags(
            {
                "kind": "monitoring",
                "status": summary.status.value,
                "champion_version": summary.model.get("version", ""),
            }
        )
        mlflow.log_metrics(figures)
        for path in paths.values():
            mlflow.log_artifact(str(path), artifact_path="monitoring")
    return str(run.info.run_id)
