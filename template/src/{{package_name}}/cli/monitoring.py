"""`monitor`, `compare` and `readiness`: live traffic, the challenger, production readiness."""

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.settings import Settings
from ..config.training import TrainingConfig
from ..contract.data_contract import DataContract
from ..data.files import read_table
from ..models.reference_data import load_held_out_predictions
from ..models.registry import (
    CHALLENGER,
    aliased_version,
    champion_reference,
    connect,
    tagged_versions,
)
from ..monitoring.alerts import notifiers
from ..monitoring.comparison import compare as paired
from ..monitoring.comparison import shadow_rules
from ..monitoring.report import log_to_mlflow, write_reports
from ..monitoring.report import monitor as check
from ..training.promotion import shadow_rows_needed
from .progress import steps

if TYPE_CHECKING:
    from ..monitoring.report import Trigger

MONITOR_STEPS = ("load the champion's reference", "check the window", "write the reports")


def _drift_trigger() -> "Trigger":
    from ..training.flow import drift_trigger  # noqa: PLC0415 - Prefect is slow to import

    return drift_trigger


def monitor(*, reference: Path | None = None) -> int:
    """Check recent predictions for drift against the champion's reference data.

    Reads the latest predictions from the prediction log (APP_MONITOR_WINDOW_*), validates
    them with the contract's suite, compares them with the champion's reference data
    (Evidently: per-feature and prediction drift), adds live quality from /feedback and the
    share of refused requests, writes reports under APP_REPORTS_DIR/monitoring/ and logs them
    to MLflow. Alerts go to the log and APP_ALERT_WEBHOOK_URL. Exit 1 on a drift alert (unless
    APP_MONITOR_FAIL_ON_DRIFT=false) or invalid data; 3 with too few predictions to judge.

    Example: monitor --reference data/last_quarter.parquet

    Parameters
    ----------
    reference
        Compare with this CSV or Parquet file instead of the champion's reference data.
    """
    settings = Settings()
    contract = DataContract.load(settings.contract_path)
    with steps("monitor", MONITOR_STEPS) as begin:
        begin("load the champion's reference")
        champion, champion_data = champion_reference(settings)
        if reference is None:
            baseline = champion_data
            held_out = load_held_out_predictions(connect(settings), champion)
        else:  # the champion answers the given rows: they are the predictions' reference too
            baseline, held_out = read_table(reference), None
        begin("check the window")
        summary, report = check(
            settings,
            contract,
            baseline,
            model={"name": champion.name, "version": str(champion.version)},
            held_out_predictions=held_out,
            notify=notifiers(settings),
            trigger=_drift_trigger() if settings.retrain_on_drift else None,
        )
        begin("write the reports")
        paths = write_reports(summary, report, settings.reports_dir / "monitoring")
        run_id = log_to_mlflow(settings, summary, paths)
    code = summary.exit_code(settings.monitor_fail_on_drift)
    stream = sys.stdout if code == 0 else sys.stderr
    print(summary.text(), file=stream)
    print(
        f"Reports: {paths['html']} (people), {paths['json']} (machines), {paths['prom']} "
        f"(Prometheus textfile); MLflow run {run_id}",
        file=stream,
    )
    return code


def compare(*, version: int | None = None) -> int:
    """Champion against challenger on the same live requests (shadow mode).

    Pairs the challenger's shadow predictions with the champion's answers to the same requests:
    agreement rate and, where /feedback arrived, accuracy (or mean absolute error) of each.
    Writes APP_REPORTS_DIR/comparison/comparison.json.

    Example: compare --version 4

    Parameters
    ----------
    version
        Challenger version (default: the version with the `challenger` alias).
    """
    settings = Settings()
    challenger = str(version) if version else None
    if challenger is None:
        aliased = aliased_version(connect(settings), settings, CHALLENGER)
        if aliased is None:
            print(f"No challenger: {_why_no_challenger(settings)}", file=sys.stderr)
            return 1
        challenger = str(aliased.version)
    contract = DataContract.load(settings.contract_path)
    config = TrainingConfig.load(settings.training_config_path, contract)
    result = paired(settings.prediction_log_url.get_secret_value(), contract, challenger)
    needed = shadow_rows_needed(settings, config)
    rules = shadow_rules(result, config.evaluation, needed) if needed else []
    path = result.write(settings.reports_dir / "comparison", rules)
    if rules:
        verdict = "met" if all(rule.met for rule in rules) else "not met"
        shown = "\n".join(rule.text() for rule in rules)
        said = f"Promotion after shadow (config/training.yaml): {verdict}\n{shown}"
    else:
        said = "Promotion after shadow: off (evaluation.min_shadow_rows is 0)"
    print(f"{result.text()}\n{said}\nReport: {path}")
    return 0


def _why_no_challenger(settings: Settings) -> str:
    """What became of the last candidate, so that "no challenger" is not a puzzle."""
    decided = tagged_versions(connect(settings), settings, "decision")
    if not decided:
        return "no candidate has been evaluated yet; `make retrain` trains one (or give --version)."
    last = decided[-1]
    if last.tags["decision"] == "promoted":
        return (
            f"the last candidate, version {last.version}, was promoted: it is the champion. "
            "A better candidate stays challenger (for shadow mode) when config/training.yaml's "
            "evaluation.min_shadow_rows is above 0; or give --version."
        )
    reason = last.tags.get("decision_reason", "")[:300]
    return (
        f"the last candidate, version {last.version}, was {last.tags['decision']} ({reason}); "
        "give --version to compare it anyway."
    )


def readiness(*, require: bool = False) -> int:
    """Print the production-readiness scorecard, computed from the project's own evidence.

    One line per criterion (met, not met or unknown), with its evidence and how to meet it:
    edge-case evaluation, monitoring, feedback, rollback, ownership, governance sign-off, real
    data and the serving SLOs. It reads the registry, the prediction log, CODEOWNERS,
    docs/runbook.md, docs/model-card.md and Prometheus (APP_PROMETHEUS_URL), and writes nothing
    to them; the scorecard goes to APP_REPORTS_DIR/readiness/ as JSON and HTML. Thresholds:
    config/readiness.yaml.

    Example: readiness --require

    Parameters
    ----------
    require
        Exit 1 unless every criterion is met (those in gate_allows_unknown may be unknown):
        the optional production gate of CI/CD.
    """
    from ..config.readiness import ReadinessConfig  # noqa: PLC0415 - only for this command
    from ..monitoring.readiness import scorecard  # noqa: PLC0415

    # A registry that does not answer is "unknown" in seconds, not after MLflow's minutes of retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    settings = Settings()
    config = ReadinessConfig.load(settings.readiness_config_path)
    card = scorecard(settings, config, root=Path.cwd())
    paths = card.write(settings.reports_dir / "readiness")
    print(card.text())
    print(f"Scorecard: {paths['html']} (people), {paths['json']} (machines)")
    blocking = card.blocking(config)
    if require and blocking:
        names = ", ".join(criterion.title for criterion in blocking)
        print(
            f"error: not ready for production: {names} (see the lines above; "
            f"{settings.readiness_config_path} says what may stay unknown)",
            file=sys.stderr,
        )
        return 1
    return 0
