"""Reference data: the data a model version learned from, stored with it in MLflow.

Monitoring compares live traffic with the reference data of the current champion, so the
comparison always follows the model that answers.
"""

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from ..core.errors import ReferenceDataError
from ..data.files import fingerprint

ARTIFACT_PATH = "reference"
FILE_NAME = "reference.parquet"


def log_reference(frame: pd.DataFrame) -> str:
    """Log ``frame`` as the reference data of the active run; returns its fingerprint."""
    digest = fingerprint(frame)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / FILE_NAME
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=ARTIFACT_PATH)
    mlflow.set_tags({"reference_rows": str(len(frame)), "reference_fingerprint": digest})
    return digest


def load_reference(client: MlflowClient, version: ModelVersion) -> pd.DataFrame:
    """The reference data logged with ``version``'s run."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            local = client.download_artifacts(
                version.run_id, f"{ARTIFACT_PATH}/{FILE_NAME}", scratch
            )
        except (OSError, mlflow.exceptions.MlflowException) as error:
            raise ReferenceDataError(
                f"model '{version.name}' version {version.version} has no reference data "
                f"({type(error).__name__}). Register a version with its training data "
                "(`make retrain`), or pass `monitor --reference PATH`."
            ) from None
        return pd.read_parquet(local)
