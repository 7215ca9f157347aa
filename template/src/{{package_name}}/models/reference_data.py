"""Reference data: the data a model version learned from, stored with it in MLflow.

Monitoring compares live traffic with the reference data of the current champion, so the
comparison always follows the model that answers. A trained version also keeps its answers on
the held-out rows it was evaluated on: the reference for prediction drift, out of sample (its
answers on its own training rows would be better than any it gives live).
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
HELD_OUT_FILE_NAME = "held_out_predictions.parquet"


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


def log_held_out_predictions(client: MlflowClient, run_id: str, frame: pd.DataFrame) -> None:
    """Log ``frame``, held-out rows with a version's ``prediction`` column, with its run."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / HELD_OUT_FILE_NAME
        frame.to_parquet(path, index=False)
        client.log_artifact(run_id, str(path), artifact_path=ARTIFACT_PATH)


def load_held_out_predictions(client: MlflowClient, version: ModelVersion) -> pd.DataFrame | None:
    """``version``'s answers on its held-out rows.

    None for a version without them: the baseline, or one registered before they were kept.
    """
    names = {item.path for item in client.list_artifacts(version.run_id, ARTIFACT_PATH)}
    if f"{ARTIFACT_PATH}/{HELD_OUT_FILE_NAME}" not in names:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        local = client.download_artifacts(
            version.run_id, f"{ARTIFACT_PATH}/{HELD_OUT_FILE_NAME}", scratch
        )
        return pd.read_parquet(local)
