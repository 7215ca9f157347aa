"""The retraining flow (Prefect): validate, train, evaluate against the champion, decide.

Without ``PREFECT_API_URL`` the flow runs on a temporary local server (state in ``.local/``);
with one, ``retrain --serve`` serves it from this process, and ``retrain --deploy`` deploys it to
a work pool whose worker runs it, each with a schedule and a trigger on the monitoring job's
drift event. Steps that talk to the registry or a database retry transient errors with
back-off; a registration retried finds its version by the flow run's id. Runs never overlap:
each holds the project's retraining lock (``run_lock``). Invalid data stops the flow before
training; the champion only moves in the last step, in one registry call.
"""

import json
import math
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from prefect import State, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from sklearn.pipeline import Pipeline

from ..config.settings import PACKAGE, Settings
from ..config.training import HoldoutPolicy, TrainingConfig, Undecided
from ..contract.data_contract import DataContract, ExtraFields, FeatureType
from ..contract.schemas import cast_features
from ..core.errors import PromotionError, RetrainingError, is_transient
from ..data.files import fingerprint, read_table
from ..data.sample import is_shipped_sample
from ..data.validation import DataValidationError, ValidationReport, validate
from ..models.explanations import typical_values
from ..models.pipeline import train
from ..models.reference_data import log_held_out_predictions
from ..models.registry import (
    CHAMPION,
    SERVING_REQUIREMENTS,
    champion_version,
    client_for,
    connect,
    contract_mismatch,
    log_model_version,
    tagged_versions,
)
from ..monitoring.alerts import Alert
from ..monitoring.drift import PREDICTION
from .evaluation import EvaluationReport, behaviour, decide, paired_gain, plot, score_metrics
from .promotion import promote, set_challenger, shadow_rows_needed
from .run_lock import retraining_lock

DRIFT_EVENT = f"{PACKAGE}.drift.detected"
"""The event the monitoring job emits on a drift alert; the deployment listens for it."""

TRAINED_MODEL_CODE = f"""
import mlflow
from {PACKAGE}.models.trained_model import TrainedModel

mlflow.models.set_model(TrainedModel())
"""
FLOW_RUN_TAG = "flow_run_id"
"""Model version tag: the Prefect flow run that registered the candidate."""


def _transient(_task: object, _run: object, state: State[Any]) -> bool:
    """Retry what a second try may fix (the network, a database away), nothing else."""
    return isinstance(state.data, BaseException) and is_transient(state.data)


EXTERNAL: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": _transient,
}
"""Retry policy for steps that touch the registry or a database: transient errors only."""


@dataclass(frozen=True)
class RetrainResult:
    """What one run decided."""

    candidate_version: str
    previous_champion: str
    champion: str
    promoted: bool
    reason: str
    report: str
    undecided: bool = False
    """The gate could not decide (too few rows, or an interval across the margin)."""


@dataclass(frozen=True)
class Setup:
    """What every step reads: settings, contract and training configuration."""

    settings: Settings
    contract: DataContract
    config: TrainingConfig


@task(cache_policy=NO_CACHE, **EXTERNAL)
def load_data(source: str, settings: Settings, contract: DataContract) -> pd.DataFrame:
    """Labelled data: a CSV/Parquet file, or APP_TRAINING_TABLE of APP_TRAINING_DATABASE_URL."""
    if source.startswith("table:"):
        import sqlalchemy as sa  # noqa: PLC0415

        engine = sa.create_engine(settings.training_database_url or "")
        try:
            return pd.read_sql_table(source.removeprefix("table:"), engine)
        finally:
            engine.dispose()
    return read_table(Path(source), contract.text_columns)


@task(cache_policy=NO_CACHE)
def validate_data(
    frame: pd.DataFrame, contract: DataContract, source: str, extra: ExtraFields
) -> ValidationReport:
    """The contract's suite, target required; a failure stops the flow.

    Values beyond observed limits within the contract's tolerance pass, and are logged with the
    run (the candidate's ``validation_warnings`` tag).
    """
    report = validate(frame, contract, source=source, require_target=True, extra_columns=extra)
    if not report.passed:
        raise DataValidationError(report)
    return report


@task(cache_policy=NO_CACHE)
def train_candidate(
    frame: pd.DataFrame, contract: DataContract, config: TrainingConfig
) -> Pipeline:
    """Fit the configured pipeline."""
    return train(frame, contract, config.model)


@task(cache_policy=NO_CACHE, **EXTERNAL)
def register_candidate(
    setup: Setup, pipeline: Pipeline, training: pd.DataFrame, facts: dict[str, str]
) -> str:
    """Log the candidate with its training data as reference; returns its version.

    It gets no alias here: only the decision makes it `challenger` or `champion`. The version
    is tagged with the flow run's id as it is created, so a retry after a registration whose
    answer was lost finds it instead of registering a second one.
    """
    settings, contract = setup.settings, setup.contract
    run = str(flow_run.id) if flow_run.id else None
    if run is not None:
        earlier = tagged_versions(client_for(settings), settings, FLOW_RUN_TAG, run)
        if earlier:
            return str(earlier[-1].version)
    tags = {} if run is None else {FLOW_RUN_TAG: run}
    return register_pipeline(settings, contract, pipeline, training, facts, version_tags=tags)


def register_pipeline(
    settings: Settings,
    contract: DataContract,
    pipeline: Pipeline,
    training: pd.DataFrame,
    tags: dict[str, str],
    *,
    version_tags: dict[str, str] | None = None,
) -> str:
    """Register a fitted pipeline with its training data and typical values; its version."""
    with tempfile.TemporaryDirectory() as scratch:
        path, typical = Path(scratch) / "pipeline.joblib", Path(scratch) / "typical_values.json"
        joblib.dump(pipeline, path)
        typical.write_text(json.dumps(typical_values(training, contract)), "utf-8")
        version = log_model_version(
            settings,
            contract,
            kind="candidate",
            model_code=TRAINED_MODEL_CODE,
            artifacts={
                "pipeline": path,
                "contract": settings.contract_path,
                "typical_values": typical,
            },
            reference=training,
            tags=tags,
            version_tags=version_tags,
            requirements=(*SERVING_REQUIREMENTS, "scikit-learn"),
        )
    return str(version.version)


@task(cache_policy=NO_CACHE, **EXTERNAL)
def evaluate(
    setup: Setup,
    candidate: str,
    champion: str,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    holdout_source: str,
) -> tuple[EvaluationReport, pd.DataFrame]:
    """Both models through the registry, on the same held-out set and behaviour checks."""
    settings, contract, config = setup.settings, setup.contract, setup.config
    connect(settings)
    features = cast_features(holdout, contract)
    truth = holdout[contract.target.name]
    models = {
        version: mlflow.pyfunc.load_model(f"models:/{settings.model_name}/{version}")
        for version in (candidate, champion)
    }
    outputs = {version: model.predict(features) for version, model in models.items()}
    checks = {
        version: behaviour(model, training, contract, config.behaviour_checks)
        for version, model in models.items()
    }
    candidate_metrics = score_metrics(outputs[candidate], truth, contract)
    champion_metrics = score_metrics(outputs[champion], truth, contract)
    interval = paired_gain(outputs[candidate], outputs[champion], truth, contract, config)
    report = EvaluationReport(
        candidate_version=candidate,
        champion_version=champion,
        primary_metric=config.evaluation.primary_metric,
        candidate=candidate_metrics,
        champion=champion_metrics,
        candidate_checks=checks[candidate],
        champion_checks=checks[champion],
        decision=decide(interval, checks[candidate], config),
        interval=interval,
        data={
            "training_rows": len(training),
            "holdout_rows": len(holdout),
            "holdout": holdout_source,
        },
        positive_class=contract.target.positive,
    )
    return report, outputs[candidate]


@task(cache_policy=NO_CACHE, **EXTERNAL)
def record_and_decide(
    setup: Setup,
    report: EvaluationReport,
    candidate_output: pd.DataFrame,
    holdout: pd.DataFrame,
    validation: ValidationReport,
) -> RetrainResult:
    """Log the evaluation to the candidate's run and the reports folder; promote or refuse."""
    settings, contract = setup.settings, setup.contract
    client = connect(settings)
    folder = settings.reports_dir / "retraining" / f"v{report.candidate_version}"
    paths = report.write(folder)
    validation_path = folder / "validation.json"
    validation_path.write_text(json.dumps(asdict(validation), indent=2), "utf-8")
    image = plot(
        candidate_output, holdout[contract.target.name], contract, folder / "evaluation.png"
    )
    version = client.get_model_version(settings.model_name, report.candidate_version)
    for name, value in report.candidate.items():
        client.log_metric(version.run_id, f"candidate_{name}", value)
    for name, value in report.champion.items():
        client.log_metric(version.run_id, f"champion_{name}", value)
    gate = report.interval
    for name, value in (("gain", gate.gain), ("gain_low", gate.low), ("gain_high", gate.high)):
        if math.isfinite(value):
            client.log_metric(version.run_id, name, value)
    for path in (*paths.values(), validation_path, image):
        client.log_artifact(version.run_id, str(path), artifact_path="evaluation")
    held_out = holdout[contract.feature_names].assign(
        **{PREDICTION: candidate_output["prediction"].to_numpy()}
    )
    log_held_out_predictions(client, version.run_id, held_out)  # prediction drift's reference
    promoted, reason = report.decision.promote, report.decision.reason
    needed = shadow_rows_needed(settings, setup.config)
    held = promoted and needed > 0
    if held:  # passed every check: the challenger, until shadow evidence promotes it
        promoted = False
        reason += (
            f"; better, kept as challenger until it has {needed} shadow predictions "
            "(evaluation.min_shadow_rows): run the service with APP_SHADOW_ENABLED=true, "
            "check `compare`, then `promote`"
        )
    elif report.decision.undecided and setup.config.evaluation.undecided is Undecided.CHALLENGER:
        held = True  # the team lets live evidence decide what the holdout could not
        reason += (
            "; kept as challenger (evaluation.undecided: challenger): run the service with "
            "APP_SHADOW_ENABLED=true, check `compare`, then `promote` or retrain"
        )
    if held:
        set_challenger(settings, report.candidate_version)
    champion = report.champion_version
    if promoted:  # only over the champion it was compared with (promote reads it again)
        try:
            champion = promote(
                settings,
                report.candidate_version,
                why=f"retraining: {reason}",
                compared_with=report.champion_version,
            ).current
        except PromotionError as error:
            promoted, reason = False, f"refused: {error}"
    # A refused candidate keeps its decision and reasons as tags, and no alias: it never answers
    decision = "promoted" if promoted else "challenger" if held else "refused"
    checks_ok = sum(check.passed for check in report.candidate_checks)
    tags = {
        "decision": decision,
        "decision_reason": reason[:5000],
        # the evaluation harness's last run, as the readiness scorecard reads it
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "checks_passed": f"{checks_ok}/{len(report.candidate_checks)}",
        "gain_interval": f"{gate.metric} {gate.describe()} over {gate.rows} rows",
    }
    for tag, text in tags.items():
        client.set_model_version_tag(settings.model_name, version.version, tag, text)
    return RetrainResult(
        candidate_version=report.candidate_version,
        previous_champion=report.champion_version,
        champion=champion,
        promoted=promoted,
        reason=reason,
        report=str(paths["md"]),
        undecided=report.decision.undecided and not promoted,
    )


def _split(frame: pd.DataFrame, setup: Setup) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Training rows and held-out rows, as ``evaluation.holdout`` says.

    Rows without a label teach nothing and are dropped.
    """
    settings, contract, evaluation = setup.settings, setup.contract, setup.config.evaluation
    target = contract.target.name
    frame = frame[frame[target].notna()]
    if evaluation.holdout is HoldoutPolicy.FILE and settings.holdout_data.is_file():
        holdout = read_table(settings.holdout_data, contract.text_columns)
        validate_data(holdout, contract, str(settings.holdout_data), settings.extra_fields)
        return frame, holdout[holdout[target].notna()], str(settings.holdout_data)
    dates = [f.name for f in contract.features if f.type is FeatureType.DATETIME]
    ordered = frame
    order = "the file's order"
    if dates:
        when = pd.to_datetime(frame[dates[0]], errors="coerce", utc=True, format="ISO8601")
        oldest_first = when.reset_index(drop=True).sort_values(kind="stable", na_position="first")
        ordered = frame.iloc[oldest_first.index.to_numpy()]  # rows without a date count as old
        order = dates[0]
    held = max(1, round(len(ordered) * evaluation.holdout_share))
    newest = f"the newest {evaluation.holdout_share:.0%} of the data by {order} ({held} rows)"
    return ordered.iloc[:-held], ordered.iloc[-held:], newest


REMOTE_REGISTRY = ("http://", "https://", "databricks")


def training_source(settings: Settings, data: str | None = None) -> str:
    """Where retraining reads its data: ``data``, else APP_TRAINING_TABLE or APP_TRAINING_DATA.

    Refused when a remote registry (a shared, production one) would be trained on the shipped
    sample: a scheduled job with missing settings must not promote the sample.
    """
    source = data or (
        f"table:{settings.training_table}"
        if settings.training_table
        else str(settings.training_data)
    )
    shipped = is_shipped_sample(source, settings.sample_data_dir)
    if shipped and settings.mlflow_tracking_uri.startswith(REMOTE_REGISTRY):
        raise RetrainingError(
            f"retrain: the registry {settings.mlflow_tracking_uri} is remote and the data is the "
            f"shipped sample ({source}): set APP_TRAINING_DATA or APP_TRAINING_TABLE to your "
            "data (or pass it), so that the sample is never promoted there"
        )
    return source


@flow(name=f"{PACKAGE}-retrain", log_prints=True)
def retrain(data: str | None = None) -> dict[str, Any]:
    """Validate ``data`` (default: APP_TRAINING_DATA), train, evaluate, promote or refuse."""
    settings = Settings()
    with retraining_lock(settings):
        return _retrain(settings, data)


def _retrain(settings: Settings, data: str | None) -> dict[str, Any]:
    logger = get_run_logger()
    contract = DataContract.load(settings.contract_path)
    config = TrainingConfig.load(settings.training_config_path, contract)
    source = training_source(settings, data)
    frame = load_data(source, settings, contract)
    validation = validate_data(frame, contract, source, settings.extra_fields)
    setup = Setup(settings, contract, config)
    training, holdout, holdout_source = _split(frame, setup)
    champion = champion_version(connect(settings), settings)
    if champion is None:
        raise LookupError(f"model '{settings.model_name}' has no '{CHAMPION}': run `make setup`")
    mismatch = contract_mismatch(settings, str(champion.version), contract)
    if mismatch:  # after `contract infer`: nothing to compare a candidate with on this contract
        raise RetrainingError(
            f"the champion cannot be compared on this contract: {mismatch}. Run `make "
            "rebaseline` to serve the baseline of this contract, then retrain"
        )
    pipeline = train_candidate(training, contract, config)
    facts = {
        "data_source": source,
        "data_fingerprint": fingerprint(frame),
        "holdout": holdout_source,
        "estimator": config.model.estimator.value,
        "params": json.dumps(config.model.params, sort_keys=True),
        "primary_metric": config.evaluation.primary_metric,
        "validation": "passed",
        "validation_warnings": "; ".join(w.describe() for w in validation.warnings)[:4000]
        or "none",
        **config.outcome.as_tags(),
    }
    candidate = register_candidate(setup, pipeline, training, facts)
    report, output = evaluate(
        setup, candidate, str(champion.version), training, holdout, holdout_source=holdout_source
    )
    result = record_and_decide(setup, report, output, holdout, validation)
    logger.info(
        "Candidate version %s %s: %s",
        result.candidate_version,
        "promoted" if result.promoted else "refused",
        result.reason,
    )
    return asdict(result)


def prefect_api_url() -> str | None:
    """The Prefect server this process talks to, or None in the local (ephemeral) mode."""
    from prefect.settings import get_current_settings  # noqa: PLC0415

    url = get_current_settings().api.url
    return str(url) if url else None


def drift_trigger(alert: Alert) -> str:
    """Start retraining for a drift alert: an event for the deployment, or a local run."""
    url = prefect_api_url()
    if url:
        from prefect.events import emit_event  # noqa: PLC0415

        emit_event(
            DRIFT_EVENT,
            resource={"prefect.resource.id": f"{PACKAGE}.monitoring"},
            payload={"title": alert.title, "reasons": alert.reasons},
        )
        return f"sent {DRIFT_EVENT} to {url}; the deployed flow starts on it"
    result = retrain()
    verdict = "promoted" if result["promoted"] else "refused"
    return f"ran locally: candidate version {result['candidate_version']} {verdict}"


def _require_server(command: str) -> str:
    url = prefect_api_url()
    if url is None:
        raise RetrainingError(
            f"`{command}` needs a Prefect server: set PREFECT_API_URL (e.g. "
            "http://127.0.0.1:4200/api after `uv run prefect server start`). Without one, "
            "run `make retrain` when needed."
        )
    return url


def serve_deployment(settings: Settings) -> None:
    """Deploy the flow on the Prefect server with its schedule and drift trigger; blocks."""
    from prefect.events import DeploymentEventTrigger  # noqa: PLC0415

    _require_server("retrain --serve")
    retrain.serve(
        name="retrain",
        cron=settings.retrain_cron,
        global_limit=1,  # one run at a time: a drift alert during a scheduled run waits
        triggers=[DeploymentEventTrigger(expect={DRIFT_EVENT})],
    )


def deploy_to_work_pool(settings: Settings, working_dir: Path) -> str:
    """Deploy the flow to the work pool (created if missing); returns the deployment's name.

    The deployment has the schedule and the drift trigger; a worker of that pool runs it from
    ``working_dir`` with the package installed in the worker's environment.
    """
    from prefect.client.orchestration import get_client  # noqa: PLC0415
    from prefect.client.schemas.actions import WorkPoolCreate  # noqa: PLC0415
    from prefect.deployments.runner import EntrypointType  # noqa: PLC0415
    from prefect.events import DeploymentEventTrigger  # noqa: PLC0415
    from prefect.exceptions import ObjectNotFound  # noqa: PLC0415

    _require_server("retrain --deploy")
    pool = settings.retrain_work_pool
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    retrain.deploy(
        name="retrain",
        work_pool_name=pool,
        cron=settings.retrain_cron,
        concurrency_limit=1,  # one run at a time: a drift alert during a scheduled run waits
        triggers=[DeploymentEventTrigger(expect={DRIFT_EVENT})],
        job_variables={"working_dir": str(working_dir.resolve())},
        entrypoint_type=EntrypointType.MODULE_PATH,
        print_next_steps=False,
    )
    return f"{retrain.name}/retrain"
