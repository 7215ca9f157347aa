"""The monitoring job: recent predictions against the champion's reference data.

One run reads the window of the prediction log and the requests refused meanwhile, validates
the window with the contract's suite, measures the share of values beyond the observed limits
per feature, computes drift with Evidently, adds live performance from feedback, writes reports
(HTML for people, JSON for machines, a Prometheus textfile for alerting), logs them to MLflow,
and raises an alert (and optionally retraining) when a threshold is reached.
"""

import html
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from ..audit.prediction_log import now, read_rejections, read_window
from ..config.settings import PACKAGE, Settings
from ..contract.data_contract import DataContract
from ..contract.schemas import ObservedLimits, cast_features
from ..core.errors import MonitoringError
from ..data.validation import ValidationReport, validate
from ..models.scoring import answer_quality, quality_metric, score
from .alerts import Alert, Notifier
from .drift import PREDICTION, DriftReport, DriftResult, compute_drift

logger = logging.getLogger(__name__)

Trigger = Callable[[Alert], str]
"""Starts retraining for an alert; returns what it started, for the report."""


class Status(StrEnum):
    """What a monitoring run concluded."""

    NO_DRIFT = "no_drift"
    DRIFT = "drift"
    INVALID_DATA = "invalid_data"
    TOO_LITTLE_DATA = "too_little_data"
    REFUSED_TRAFFIC = "refused_traffic"
    """Too many requests refused: callers send what the contract does not allow."""


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
    regression = contract.target.classes is None
    pairs = zip(labelled["prediction"], labelled["outcome"], strict=True)
    return Performance(len(labelled), quality_metric(regression), answer_quality(pairs, regression))


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
    out_of_range: dict[str, float | None] = field(default_factory=dict)
    """Per feature with observed limits, the share of the window's values beyond them (None
    when the window was not judged)."""
    performance: dict[str, Any] | None = None
    other_versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Predictions in the window answered by other versions (canary, fallback, an earlier
    champion): counted and their live quality shown, never judged with the champion's."""
    alert: list[str] = field(default_factory=list)
    retraining: str | None = None

    def exit_code(self, fail_on_drift: bool) -> int:
        """0 no drift; 1 invalid data, or an alert when configured; 3 too little data."""
        if self.status is Status.TOO_LITTLE_DATA:
            return EXIT_TOO_LITTLE_DATA
        alerted = self.status in (Status.DRIFT, Status.REFUSED_TRAFFIC)
        if self.status is Status.INVALID_DATA or (alerted and fail_on_drift):
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
        lines.append(
            f"  refused: {self.window['refused_records']} records "
            f"({self.window['rejection_rate']:.1%} of those sent; alert above "
            f"{self.window['max_rejection_rate']:.0%}, APP_MONITOR_MAX_REJECTION_RATE)"
        )
        beyond = {name: share for name, share in self.out_of_range.items() if share}
        if beyond:
            lines.append("  beyond the observed limits (answered and flagged):")
            lines += [f"    {name:<28} {share:.1%}" for name, share in beyond.items()]
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
        for version, seen in self.other_versions.items():
            value = seen["performance"]["value"]
            quality = "" if value is None else f", live {seen['performance']['metric']} {value:.3f}"
            lines.append(
                f"  answered by version {version} (not judged here): {seen['rows']} "
                f"predictions{quality}"
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
    reference: pd.DataFrame,
    held_out: pd.DataFrame | None,
    settings: Settings,
    contract: DataContract,
) -> pd.DataFrame:
    """The reference data with the champion's predictions, for prediction drift.

    With the champion's answers on its held-out rows, those are the predictions' reference (the
    training rows get none: Evidently leaves missing values out). Without (the baseline, or a
    file given with ``--reference``), the champion answers the reference rows now.
    """
    if held_out is not None:
        return pd.concat([reference, held_out], ignore_index=True)
    from ..models.registry import load_serving_model  # noqa: PLC0415 - MLflow is slow to import

    model = load_serving_model(settings, contract)
    features = cast_features(reference, contract)
    scored = score(model, features, settings.review_threshold)
    return reference.assign(**{PREDICTION: scored["prediction"].to_numpy()})


def out_of_range_shares(window: pd.DataFrame, contract: DataContract) -> dict[str, float | None]:
    """Per feature with observed limits, the share of the window's values beyond them."""
    limits = ObservedLimits(contract)
    names = [name for name in limits.features if name in window]
    if not names or not len(window):
        return dict.fromkeys(names)
    values = window[names].astype(object)
    records: list[dict[str, Any]] = [
        {str(name): value for name, value in row.items()}
        for row in values.where(values.notna(), None).to_dict(orient="records")
    ]
    counts = dict.fromkeys(names, 0)
    for outside in limits.outside(records):
        for name in outside:
            counts[name] += 1
    return {name: round(count / len(window), 4) for name, count in counts.items()}


def _utc(moment: Any) -> datetime:  # noqa: ANN401 - whatever the database driver returns
    """``moment`` as an aware UTC date-time (SQLite gives them back naive)."""
    stamp = pd.Timestamp(moment)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _rejection_alert(summary: MonitorSummary, settings: Settings) -> list[str]:
    """Why the refused requests are an alert; empty when they are not (or too few were sent)."""
    refused, rate = summary.window["refused_records"], summary.window["rejection_rate"]
    sent = summary.window["answered"] + refused
    if sent < settings.monitor_min_rows or rate <= settings.monitor_max_rejection_rate:
        return []
    return [
        f"{rate:.0%} of the records sent were refused ({refused} of {sent}; alert above "
        f"{settings.monitor_max_rejection_rate:.0%}): callers send what the contract does not "
        "allow (model_refused_requests_total names the fields)"
    ]


def monitor(
    settings: Settings,
    contract: DataContract,
    reference: pd.DataFrame,
    *,
    model: dict[str, str],
    held_out_predictions: pd.DataFrame | None = None,
    notify: Sequence[Notifier] = (),
    trigger: Trigger | None = None,
) -> tuple[MonitorSummary, DriftReport | None]:
    """One monitoring run over the configured window of the prediction log.

    Only the predictions of the champion (``model["version"]``) are judged; those of other
    versions in the window are counted apart.
    """
    thresholds = Thresholds.from_settings(settings, contract)
    since = (
        None
        if settings.monitor_window_hours is None
        else now() - timedelta(hours=settings.monitor_window_hours)
    )
    log_url = settings.prediction_log_url.get_secret_value()
    logged = read_window(log_url, rows=settings.monitor_window_rows, since=since)
    first = _utc(logged["created_at"].min()) if len(logged) else None
    answered_by = logged["model_version"].astype(str)
    by_champion = answered_by == str(model.get("version"))
    window = logged[by_champion]
    others = {
        str(version): {"rows": len(rows), "performance": asdict(live_performance(rows, contract))}
        for version, rows in logged[~by_champion].groupby(answered_by[~by_champion])
    }
    refused = read_rejections(  # those refused while the window's predictions were answered
        log_url,
        rows=settings.monitor_window_rows,
        since=max(moment for moment in (since, first) if moment is not None)
        if since or first
        else None,
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
            "first": str(first) if len(window) else None,
            "last": str(window["created_at"].max()) if len(window) else None,
            "answered": len(logged),  # by every version: the callers' side of the refusals
            "refused_records": refused,
            "rejection_rate": refused / max(len(logged) + refused, 1),
            "max_rejection_rate": settings.monitor_max_rejection_rate,
        },
        reference={
            "rows": len(reference),
            "predictions_from": "reference rows"
            if held_out_predictions is None
            else f"{len(held_out_predictions)} held-out rows",
        },
        out_of_range=dict.fromkeys(ObservedLimits(contract).features),
        other_versions=others,
    )
    refusals = _rejection_alert(summary, settings)
    if len(window) < settings.monitor_min_rows:
        summary.status = Status.REFUSED_TRAFFIC if refusals else Status.TOO_LITTLE_DATA
        summary.alert = refusals
        if refusals:
            _notify(Alert(f"{PACKAGE}: /predict refuses its callers", refusals), notify)
        return summary, None
    validation = _validated(window, contract)
    summary.validation = {"passed": not validation.failures, "summary": validation.summary()}
    if validation.failures:  # declared limits; observed ones are measured below, as drift
        summary.status = Status.INVALID_DATA
        summary.alert = [f"logged traffic breaks the data contract: {validation.summary()}"]
        _notify(Alert(f"{PACKAGE}: invalid data in the prediction log", summary.alert), notify)
        return summary, None
    summary.out_of_range = out_of_range_shares(window, contract)
    tolerance = contract.max_out_of_range_share
    beyond = [
        f"{share:.0%} of '{name}' beyond the limits observed in training (alert above "
        f"{tolerance:.0%}, the contract's max_out_of_range_share)"
        for name, share in summary.out_of_range.items()
        if share is not None and share > tolerance
    ]
    report = compute_drift(
        _with_predictions(reference, held_out_predictions, settings, contract),
        window,
        contract,
        share_threshold=settings.drift_share_threshold,
        method=settings.drift_method,
        false_alarm_rate=settings.drift_false_alarm_rate,
    )
    summary.drift = _summary_of(report.result)
    summary.performance = asdict(live_performance(window, contract))
    predicted = report.result.prediction
    moved = (
        [
            f"the champion's predictions drifted from its answers on held-out rows "
            f"({predicted.method} {predicted.score:.3f}, threshold {predicted.threshold:g})"
        ]
        if predicted is not None and predicted.drifted and settings.alert_on_prediction_drift
        else []
    )
    drifted = [*thresholds.reasons(report.result), *moved, *beyond]
    summary.alert = [*drifted, *refusals]
    if drifted:
        summary.status = Status.DRIFT
        alert = Alert(
            f"{PACKAGE}: drift in the last {len(window)} predictions",
            summary.alert,
            {"share": report.result.share, "drifted": report.result.drifted_features},
        )
        _notify(alert, notify)
        if trigger is not None:
            summary.retraining = trigger(alert)
    elif refusals:
        summary.status = Status.REFUSED_TRAFFIC
        _notify(Alert(f"{PACKAGE}: /predict refuses its callers", refusals), notify)
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
        page = paths["html"].read_text("utf-8")
        paths["html"].write_text(page.replace("<body>", f"<body>{_limits_html(summary)}", 1))
    else:
        paths["html"].write_text(
            "<!doctype html><meta charset='utf-8'><title>Drift</title>"
            f"<h1>No drift report: {summary.status.value}</h1><pre>{summary.text()}</pre>",
            "utf-8",
        )
    _write_textfile(summary, paths["prom"])
    return paths


def _limits_html(summary: MonitorSummary) -> str:
    """A table above Evidently's report: values beyond the observed limits, refused records."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{'' if share is None else f'{share:.1%}'}</td></tr>"
        for name, share in summary.out_of_range.items()
    )
    window = summary.window
    return (
        "<section style='font-family:sans-serif;margin:1em'><h2>Beyond the observed limits</h2>"
        "<p>Answered and flagged <code>out_of_range</code>; share of the window's "
        f"{window['rows']} predictions. Refused: {window['refused_records']} records "
        f"({window['rejection_rate']:.1%} of those sent).</p>"
        f"<table border='1' cellpadding='4'><tr><th>Feature</th><th>Beyond</th></tr>{rows}"
        "</table></section>"
    )


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
    gauge(
        "monitor_rejection_rate",
        "Share of the records sent to /predict in the window that were refused",
        summary.window["rejection_rate"],
    )
    beyond = Gauge(
        f"{PACKAGE}_monitor_out_of_range_share",
        "Share of the window's values beyond the observed limits, per feature",
        ["feature"],
        registry=registry,
    )
    for name, share in summary.out_of_range.items():
        beyond.labels(name).set(math.nan if share is None else share)
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

    from ..models.registry import connect, experiment_id  # noqa: PLC0415

    client = connect(settings)
    figures = {
        "window_rows": float(summary.window["rows"]),
        "rejection_rate": float(summary.window["rejection_rate"]),
    }
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
