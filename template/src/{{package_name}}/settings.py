"""Settings from environment variables (prefix ``APP_``) and an optional ``.env`` file.

Relative paths are resolved from the working directory, which is the project root for every
``make`` target. ``uv run <package> settings --schema`` prints every setting with its description.
The defaults are the embedded profile: everything in local files under ``.local/``, no server.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE = __name__.split(".")[0]


class Settings(BaseSettings):
    """Where the project finds its contract, data, registry and prediction log."""

    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=".env", extra="ignore", frozen=True
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
    reports_dir: Path = Field(
        default=Path("reports"),
        description="Where validation (and later drift and evaluation) reports are written.",
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
    prediction_log_url: str = Field(
        default="sqlite:///.local/predictions.db",
        description="Database of the prediction log and feedback (SQLAlchemy URL), e.g. "
        "postgresql+psycopg://user@host/db.",
    )
    review_threshold: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Predictions with a confidence below this are flagged `needs_review`.",
    )
    max_batch_size: int = Field(
        default=1000, ge=1, description="Most records one /predict request may carry."
    )
    max_request_bytes: int = Field(
        default=1_000_000, ge=1_024, description="Largest /predict or /feedback body accepted."
    )
