"""Settings from environment variables (prefix ``APP_``) and an optional ``.env`` file.

Relative paths are resolved from the working directory, which is the project root for every
``make`` target. ``uv run <package> settings --schema`` prints every setting with its description.
The defaults are the embedded profile: everything in local files under ``.local/``, no server.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, TypeAdapter, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..contract.data_contract import ExtraFields

PACKAGE = __name__.split(".")[0]

HOLDOUT_SPLIT = "split"
"""``APP_HOLDOUT_DATA=split``: no fixed held-out file (retraining holds out the newest rows)."""
DRIFT_FALSE_ALARM_RATE = 0.01
"""Each column's share of false alarms on windows drawn from the reference itself."""

Engine = Literal["streamed", "pandas"]
"""How `validate` and `predict` read a file: ``APP_CHUNK_ROWS`` at a time, or whole."""


class Settings(BaseSettings):
    """Where the project finds its contract, data, registry and prediction log."""

    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=".env", env_ignore_empty=True, extra="ignore", frozen=True
    )

    contract_path: Path = Field(
        default=Path("contract/data_contract.yaml"),
        description="The data contract: features, types, ranges, target and id column.",
    )
    baseline_path: Path = Field(
        default=Path("contract/baseline.yaml"),
        description="Rules of the baseline model, registered as version 1 by `make setup`.",
    )
    sample_data_dir: Path = Field(
        default=Path("data/sample"),
        description="Sample data shipped with the project: train, holdout and edge cases.",
    )
    edge_cases_data: Path = Field(
        default=Path("data/sample/edge_cases.csv"),
        description="Edge cases the tests send to the service: the contract's features and "
        "an `expected_outcome` column, `refused` (a 4xx naming the field) or `flagged` "
        "(answered with needs_review and the field in out_of_range).",
    )
    training_data: Path = Field(
        default=Path("data/sample/train.csv"),
        description="Labelled training data (CSV or Parquet). The baseline is registered with it "
        "as its reference data, which drift monitoring compares live traffic against.",
    )
    reports_dir: Path = Field(
        default=Path("reports"),
        description="Where validation, drift and evaluation reports are written.",
    )
    mlflow_tracking_uri: str = Field(
        default="sqlite:///.local/mlflow.db",
        description="MLflow tracking and registry store: a local SQLite file by default, or a "
        "tracking server URL such as http://mlflow.internal:5000.",
    )
    mlflow_artifact_dir: Path = Field(
        default=Path(".local/mlartifacts"),
        description="Where model files go with a local (SQLite) store; a tracking server keeps "
        "its own artifact store.",
    )
    model_name: str = Field(
        default=PACKAGE,
        description="Registered model name; its `champion` alias is what the service serves.",
    )
    prediction_log_url: SecretStr = Field(
        default=SecretStr("sqlite:///.local/predictions.db"),
        description="Database of the prediction log and feedback (SQLAlchemy URL), e.g. "
        "postgresql+psycopg://user:password@host/db (a secret: never printed).",
    )
    prediction_log_spill_dir: Path = Field(
        default=Path(".local/prediction-log-spill"),
        description="Where the service keeps log rows it could not write before a graceful stop "
        "(the database was away); the next start writes them. On Kubernetes, mount a volume "
        "here for them to survive the pod.",
    )
    prediction_log_stop_seconds: float = Field(
        default=10,
        gt=0,
        description="How long a graceful stop waits for queued log rows to be written before "
        "spilling the rest to APP_PREDICTION_LOG_SPILL_DIR.",
    )
    review_threshold: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Predictions with a confidence below this are flagged `needs_review`.",
    )
    service_workers: int = Field(
        default=1,
        ge=1,
        description="Worker processes of `serve`, each with its own copy of the model; metrics "
        "are summed across them. Frozen into a Bento at `make bento`.",
    )
    traceback: bool = Field(
        default=False,
        description="An unexpected error of the command line prints its traceback; otherwise "
        "it is one line naming the error and where it was raised.",
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per HTTP request. Off by default: the prediction log is the "
        "audit trail and the metrics count every status; the line costs about a tenth of a "
        "request's time.",
    )
    trace_requests: bool = Field(
        default=False,
        description="OpenTelemetry spans for /predict and /feedback (export them with BentoML's "
        "tracing options). Off by default: BentoML records a span per request even when none is "
        "exported, which cost a third of the service's throughput and kept every span in memory.",
    )
    explain_predictions: bool = Field(
        default=False,
        description="Trained models name the features that moved each answer most (one extra "
        "batched model call per request: see docs/benchmarks of the template for its cost). "
        "The baseline always names its rule.",
    )
    client_token: SecretStr = Field(
        default=SecretStr(""),
        description="The token that `smoke-test` and `simulate-traffic` send as "
        "`Authorization: Bearer` (one with the predict scope, and feedback for --feedback); "
        "empty: they send none, as a service without APP_API_TOKENS on loopback needs.",
    )
    api_tokens: SecretStr = Field(
        default=SecretStr(""),
        description="Who may call the service: comma-separated NAME:SCOPES:SECRET entries. "
        "SCOPES: predict, feedback, metrics and admin (everything) joined by +; SECRET: the "
        "token, or sha256:<hex digest of it>. `make token NAME=... SCOPES=...` prints a new "
        "one. /livez, /readyz and / stay open. Empty: anonymous callers on loopback only.",
    )
    allow_anonymous: bool = Field(
        default=False,
        description="UNSAFE: answer anonymous callers from any machine when APP_API_TOKENS is "
        "empty. Anyone who reaches the port can then predict, send outcomes and read metrics. "
        "Only behind a gateway that authenticates callers itself.",
    )
    extra_fields: ExtraFields = Field(
        default=ExtraFields.IGNORE,
        description="Fields of a /predict record, and columns of a file or table, that the "
        "contract does not name: `ignore` leaves them out (counted in "
        "model_request_extra_fields_total, listed in the response's `ignored_fields` and in "
        "validation reports); `refuse` answers 400 and fails validation.",
    )
    max_batch_size: int = Field(
        default=1000, ge=1, description="Most records one /predict request may carry."
    )
    max_request_bytes: int = Field(
        default=1_000_000, ge=1_024, description="Largest /predict or /feedback body accepted."
    )
    source_database_url: SecretStr | None = Field(
        default=None,
        description="Database that `validate --table/--query` and `predict --table/--query` "
        "read from (SQLAlchemy URL), e.g. postgresql+psycopg://user:password@host/db (a secret: "
        "never printed, and kept off the command line).",
    )
    chunk_rows: int = Field(
        default=100_000,
        ge=1,
        description="Rows `validate` and `predict` read from a file at a time: their memory stays "
        "flat in the file's length (roughly 1 KB a row of ten columns). `--engine pandas` reads "
        "the whole file at once instead.",
    )
    model_refresh_seconds: float = Field(
        default=30,
        ge=0,
        description="How often the service checks the registry for a new champion and switches "
        "to it without a restart; 0 turns the check off.",
    )
    training_config_path: Path = Field(
        default=Path("config/training.yaml"),
        description="Estimator, hyper-parameters, primary metric, promotion margin, behaviour "
        "checks.",
    )
    readiness_config_path: Path = Field(
        default=Path("config/readiness.yaml"),
        description="Thresholds of the production-readiness scorecard (`make readiness`).",
    )
    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus that scrapes the service (e.g. http://prometheus:9090), for the "
        "scorecard's serving criterion; unset, that criterion is unknown.",
    )
    holdout_data: Path = Field(
        default=Path("data/sample/holdout.csv"),
        description="Fixed held-out set: checked by `validate`, and the rows candidate and "
        "champion are compared on when config/training.yaml says `evaluation.holdout: file`; "
        "`split` (or a path that does not exist): the newest rows of the training data.",
    )
    training_table: str | None = Field(
        default=None,
        description="Read training data from this table of APP_TRAINING_DATABASE_URL instead "
        "of APP_TRAINING_DATA.",
    )
    training_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database that holds APP_TRAINING_TABLE.",
    )
    retrain_cron: str = Field(
        default="0 3 * * 1",
        description="Schedule of retraining, cron syntax: the deployed flow's (`retrain "
        "--deploy` or `--serve`), its only scheduler; CI schedules monitoring only.",
    )
    monitor_window_rows: int = Field(
        default=5_000, ge=1, description="Monitoring looks at this many most recent predictions."
    )
    monitor_window_hours: float | None = Field(
        default=None,
        gt=0,
        description="If set, monitoring also ignores predictions older than this many hours.",
    )
    monitor_min_rows: int = Field(
        default=200,
        ge=1,
        description="Fewer predictions than this in the window are reported as too little data "
        "(never as 'no drift').",
    )
    monitor_max_rejection_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Alert when more than this share of the records sent to /predict in the "
        "window were refused (4xx): callers send what the contract does not allow.",
    )
    drift_share_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Alert when at least this share of the features drifted.",
    )
    drift_key_features: list[str] = Field(
        default=[],
        description='Features that alert on their own when they drift, as JSON: ["a", "b"].',
    )
    drift_method: str | None = Field(
        default=None,
        description="Pin Evidently's drift test for every column (e.g. psi, ks, wasserstein, "
        "jensenshannon), with Evidently's threshold; by default numbers use the normed "
        "Wasserstein distance and categories the Jensen-Shannon distance, with thresholds "
        "calibrated to APP_DRIFT_FALSE_ALARM_RATE.",
    )
    drift_false_alarm_rate: float = Field(
        default=DRIFT_FALSE_ALARM_RATE,
        gt=0,
        lt=0.5,
        description="Each column's drift threshold is the distance that windows of the live "
        "window's size, drawn from the reference itself, pass this share of the time (never "
        "below Evidently's 0.1): a small window of a skewed column does not alarm on noise.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="Drift alerts are also POSTed here as JSON with a `text` field (Slack, "
        "Mattermost and most chat webhooks accept it). Alerts always go to the log. A secret "
        "(chat webhooks carry their key in the path): never printed.",
    )
    alert_on_prediction_drift: bool = Field(
        default=True,
        description="A drift of the champion's predictions (against its answers on held-out "
        "rows) is an alert of its own, whatever share of the features drifted.",
    )
    monitor_fail_on_drift: bool = Field(
        default=True, description="`monitor` exits with code 1 when it raises a drift alert."
    )
    retrain_on_drift: bool = Field(
        default=False, description="A drift alert also starts the retraining flow."
    )
    shadow_enabled: bool = Field(
        default=False,
        description="Also score requests with the `challenger` alias, off the response path, "
        "and log its predictions beside the champion's (same request id); the answer stays "
        "the champion's. `compare` reports the two.",
    )
    shadow_sample_rate: float = Field(
        default=1.0, gt=0, le=1, description="Share of requests scored in shadow mode."
    )
    canary_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of callers answered by the `challenger`, chosen by the request's "
        "X-Routing-Key header (else the first record's id), so a caller keeps its model.",
    )
    challenger_latency_budget_ms: float = Field(
        default=250,
        gt=0,
        description="A challenger answer slower than this counts as a failure.",
    )
    challenger_max_failures: int = Field(
        default=5,
        ge=1,
        description="Challenger errors or slow answers in a row that switch it off (the circuit "
        "breaker opens; shadow and canary stop).",
    )
    challenger_cooldown_seconds: float = Field(
        default=300, gt=0, description="After this, a switched-off challenger is tried again."
    )
    promotion_min_shadow_rows: int = Field(
        default=0,
        ge=0,
        description="Raises config/training.yaml's evaluation.min_shadow_rows for this caller "
        "(never lowers it): a version is promoted only with at least this many shadow "
        "predictions logged; retraining then leaves a better candidate as `challenger`.",
    )
    retrain_work_pool: str = Field(
        default=f"{PACKAGE}-retraining",
        description="Prefect work pool (process type) that `retrain --deploy` deploys the flow "
        "to and `worker` takes its runs from; created when missing.",
    )
    worker_stop_seconds: float = Field(
        default=20,
        gt=0,
        description="How long `worker` may take to stop after SIGTERM or Ctrl-C: a flow run in "
        "progress is stopped first (Prefect marks it Crashed; the next schedule or alert runs it "
        "again), then the Prefect worker; what is left at this bound is killed. Keep it below "
        "the platform's grace period (Kubernetes: terminationGracePeriodSeconds; Compose: "
        "stop_grace_period).",
    )

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_is_a_url(cls, value: SecretStr | None) -> SecretStr | None:
        """An http(s) URL, checked without echoing it (pydantic's error would)."""
        if value is not None:
            try:
                TypeAdapter(HttpUrl).validate_python(value.get_secret_value())
            except ValueError:
                raise ValueError("not an http(s) URL (the value is not shown)") from None
        return value
