"""The MLflow model registry: where the champion lives, and how the baseline becomes version 1.

Promotion and rollback are moves of the ``champion`` alias. The store is a local SQLite file by
default and a tracking server when ``APP_MLFLOW_TRACKING_URI`` is a URL; the code is the same.
"""

import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

from ..config.settings import PACKAGE, Settings
from ..contract.data_contract import DataContract
from ..contract.schemas import example_records, model_signature, records_frame
from ..core.errors import ReferenceDataError
from ..core.sqlite_files import create_sqlite_folder
from ..data.files import DataFileError, read_table
from .baseline import BaselineRules
from .baseline_model import ConfigBaseline
from .reference_data import load_reference, log_reference

CHAMPION = "champion"
CHALLENGER = "challenger"
# MLflow "models from code": this file is logged with the model and run when it is loaded.
BASELINE_MODEL_CODE = f"""
import mlflow
from {PACKAGE}.models.baseline_model import BaselineModel

mlflow.models.set_model(BaselineModel())
"""
MOVED_MODEL_MODULES = {
    "baseline_model": "models.baseline_model",
    "trained_model": "models.trained_model",
}
"""Model code registered before 0.3.0 imports its class from the package's old flat layout."""
SERVING_REQUIREMENTS = ("mlflow-skinny", "pandas", "pydantic", "pyyaml")

logger = logging.getLogger(__name__)


class Predictor(Protocol):
    """Anything that turns a model-input frame into prediction, confidence and rule columns."""

    def predict(self, model_input: pd.DataFrame, /) -> pd.DataFrame:
        """Score the rows of ``model_input``."""
        ...


def resolve_moved_model_modules() -> None:
    """Let model versions registered before 0.3.0 find their code under its old module names."""
    for old, new in MOVED_MODEL_MODULES.items():
        sys.modules.setdefault(f"{PACKAGE}.{old}", import_module(f"{PACKAGE}.{new}"))


class RegisteredModel:
    """A registered version's own model, called without MLflow's schema enforcement per call.

    The service and batch scoring hand it rows already checked against the contract and cast to
    the signature's types (``records_frame``, ``cast_features``), so enforcing the signature
    again only costs time: about a third of the model call per request, as measured.
    """

    def __init__(self, model_uri: str, *, explain: bool = False) -> None:
        resolve_moved_model_modules()
        self._model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
        self._params = {"explain": True} if explain else None

    def predict(self, model_input: pd.DataFrame, /) -> pd.DataFrame:
        """Score the rows of ``model_input``."""
        output: pd.DataFrame = self._model.predict(None, model_input, self._params)
        return output


@dataclass(frozen=True)
class LoadedModel:
    """The model the service answers with, and where it came from."""

    predictor: Predictor
    name: str
    version: str
    source: str
    degraded: bool = False
    reason: str = ""


def _is_local_store(uri: str) -> bool:
    return uri.startswith("sqlite:")


# A registry that does not answer should degrade the service in seconds, not minutes of retries.
# Set these in the environment to change them.
MLFLOW_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # progress bars are noise in logs and CI
}


def client_for(settings: Settings) -> MlflowClient:
    """A client of the configured store that leaves MLflow's process-wide settings alone.

    For background threads (the service's model refresh), which must not re-point the tracking
    URI that other code in the process relies on.
    """
    for name, value in MLFLOW_DEFAULTS.items():
        os.environ.setdefault(name, value)
    uri = settings.mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store (creating the local folder if needed)."""
    uri = settings.mlflow_tracking_uri
    create_sqlite_folder(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return client_for(settings)


def experiment_id(client: MlflowClient, settings: Settings) -> str:
    """The project's experiment, created on first use.

    Another process may create it between the read and the create, and a create retried after
    a slow answer finds its own first attempt: both read the experiment that now exists.
    """
    existing = client.get_experiment_by_name(settings.model_name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if _is_local_store(settings.mlflow_tracking_uri):
        location = settings.mlflow_artifact_dir.resolve().as_uri()
    try:
        return str(client.create_experiment(settings.model_name, artifact_location=location))
    except MlflowException as error:
        created = client.get_experiment_by_name(settings.model_name)
        if _error_code(error) != RESOURCE_ALREADY_EXISTS or created is None:
            raise
        return str(created.experiment_id)


def _error_code(error: MlflowException) -> int:
    return int(ErrorCode.Value(error.error_code))


def aliased_version(client: MlflowClient, settings: Settings, alias: str) -> ModelVersion | None:
    """The version ``alias`` points at, or None when the alias (or the model) does not exist."""
    try:
        return client.get_model_version_by_alias(settings.model_name, alias)
    except MlflowException as error:
        if _error_code(error) in (INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST):
            return None
        raise


MOVE_TAG_PREFIX = "champion_move."
"""Registered model tags, one per move of ``champion`` (training/promotion.py writes them)."""


def champion_moves(client: MlflowClient, settings: Settings) -> list[dict[str, Any]]:
    """Every recorded move of ``champion`` (kind, from, to, by, at, why), oldest first."""
    try:
        tags = client.get_registered_model(settings.model_name).tags
    except MlflowException as error:
        if _error_code(error) == RESOURCE_DOES_NOT_EXIST:
            return []
        raise
    return [json.loads(tags[key]) for key in sorted(tags) if key.startswith(MOVE_TAG_PREFIX)]


def champion_version(client: MlflowClient, settings: Settings) -> ModelVersion | None:
    """The version the ``champion`` alias points at, or None when there is none yet."""
    return aliased_version(client, settings, CHAMPION)


def load_version(settings: Settings, version: str) -> LoadedModel:
    """A registered version, loaded to answer (the challenger's way in; no fallback)."""
    uri = f"models:/{settings.model_name}/{version}"
    predictor = RegisteredModel(uri, explain=settings.explain_predictions)
    return LoadedModel(predictor, settings.model_name, version, uri)


def log_model_version(
    settings: Settings,
    contract: DataContract,
    *,
    kind: str,
    model_code: str,
    artifacts: dict[str, Path],
    reference: pd.DataFrame | None,
    tags: dict[str, str] | None = None,
    version_tags: dict[str, str] | None = None,
    requirements: tuple[str, ...] = SERVING_REQUIREMENTS,
) -> ModelVersion:
    """Log a pyfunc model (models from code) with its artifacts and reference data; register it.

    ``tags`` go to the run, ``version_tags`` to the new version, set as it is created (a retry
    can find it by them). The new version gets no alias: promotion is a separate, deliberate
    step.
    """
    client = connect(settings)
    with (
        tempfile.TemporaryDirectory() as scratch,
        mlflow.start_run(experiment_id=experiment_id(client, settings), run_name=kind),
    ):
        code_path = Path(scratch) / f"{kind}_model.py"
        code_path.write_text(model_code, encoding="utf-8")
        mlflow.set_tags({"model_kind": kind, "contract": contract.name, **(tags or {})})
        if reference is not None:
            log_reference(reference)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code_path),
            artifacts={name: str(path) for name, path in artifacts.items()},
            signature=model_signature(contract),
            input_example=records_frame(example_records(contract), contract),
            pip_requirements=[f"{name}=={version(name)}" for name in requirements],
        )
    labels = {SCHEMA_TAG: schema_fingerprint(contract), **(version_tags or {})}
    registered = mlflow.register_model(info.model_uri, settings.model_name, tags=labels)
    return client.get_model_version(settings.model_name, str(registered.version))


def tagged_versions(
    client: MlflowClient, settings: Settings, tag: str, value: str | None = None
) -> list[ModelVersion]:
    """The versions carrying ``tag`` (with ``value``, when given), oldest first."""
    found = [
        registered
        for registered in client.search_model_versions(f"name = '{settings.model_name}'")
        if tag in registered.tags and value in (None, registered.tags[tag])
    ]
    return sorted(found, key=lambda registered: int(registered.version))


SCHEMA_TAG = "input_schema"
"""Model version tag: a fingerprint of the inputs and prediction kind it was registered for."""


def schema_fingerprint(contract: DataContract) -> str:
    """What a model takes and gives, as a short hash: the same for contracts a model can serve."""
    signature = model_signature(contract)
    described = json.dumps([signature.inputs.to_dict(), signature.outputs.to_dict()[:1]])
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def contract_mismatch(settings: Settings, version: str, contract: DataContract) -> str | None:
    """Why registered ``version`` cannot answer this contract's API; None when it can.

    Every version carries the contract it was trained for in its signature: the same inputs
    (names and types) and the same kind of prediction, or it is refused.
    """
    from mlflow.models import get_model_info  # noqa: PLC0415 - MLflow is slow to import

    registered = client_for(settings).get_model_version(settings.model_name, version)
    if registered.tags.get(SCHEMA_TAG) == schema_fingerprint(contract):
        return None  # the common case: one registry read, no artifact download
    signature = get_model_info(f"models:/{settings.model_name}/{version}").signature
    expected = model_signature(contract)
    if signature is None:
        return f"version {version} has no signature"
    theirs = {spec["name"]: spec["type"] for spec in signature.inputs.to_dict()}
    ours = {spec["name"]: spec["type"] for spec in expected.inputs.to_dict()}
    outputs_differ = signature.outputs.to_dict()[:1] != expected.outputs.to_dict()[:1]
    if theirs == ours and not outputs_differ:
        return None
    missing, extra = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    typed = sorted(n for n in set(ours) & set(theirs) if ours[n] != theirs[n])
    details = [
        f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"  # noqa: PLR2004
        for label, names in (("lacks", missing), ("has extra", extra), ("other types", typed))
        if names
    ] or ["another kind of prediction"]
    return f"version {version} was registered for another contract ({'; '.join(details)})"


def log_baseline(settings: Settings, contract: DataContract) -> ModelVersion:
    """Register the baseline rules, with the training data as reference; no alias."""
    BaselineRules.load(settings.baseline_path, contract)  # refuse rules that do not fit
    reference = _training_data_or_none(settings, contract)
    return log_model_version(
        settings,
        contract,
        kind="baseline",
        model_code=BASELINE_MODEL_CODE,
        artifacts={"rules": settings.baseline_path, "contract": settings.contract_path},
        reference=reference,
        tags={} if reference is None else {"data_source": str(settings.training_data)},
    )


def register_baseline(settings: Settings, contract: DataContract) -> ModelVersion:
    """Register the baseline rules and make them the champion (a registry's first model)."""
    registered = log_baseline(settings, contract)
    connect(settings).set_registered_model_alias(settings.model_name, CHAMPION, registered.version)
    return registered


def _training_data_or_none(settings: Settings, contract: DataContract) -> pd.DataFrame | None:
    """The baseline learned nothing, but its rules were written for the training data."""
    try:
        return read_table(settings.training_data, contract.text_columns)
    except DataFileError as error:
        logger.warning("The baseline has no reference data for monitoring: %s", error)
        return None


def bootstrap(settings: Settings, contract: DataContract) -> tuple[ModelVersion, bool]:
    """Make sure a champion exists: register the baseline if the registry has none.

    Returns the champion and whether it was registered now.
    """
    current = champion_version(connect(settings), settings)
    if current is not None:
        return current, False
    return register_baseline(settings, contract), True


def load_serving_model(settings: Settings, contract: DataContract) -> LoadedModel:
    """The champion from the registry; if that fails, the baseline from its files, degraded."""
    try:
        client = connect(settings)
        champion = champion_version(client, settings)
        if champion is None:
            raise LookupError(
                f"model '{settings.model_name}' has no '{CHAMPION}' alias: run `make setup`"
            )
        mismatch = contract_mismatch(settings, str(champion.version), contract)
        if mismatch:
            raise LookupError(f"champion {mismatch}: run `make rebaseline`")
        # By version, not by alias: a promotion meanwhile must not mislabel the answers.
        uri = f"models:/{settings.model_name}/{champion.version}"
        return LoadedModel(
            predictor=RegisteredModel(uri, explain=settings.explain_predictions),
            name=settings.model_name,
            version=str(champion.version),
            source=uri,
        )
    except Exception as error:  # any failure here must leave the service answering
        reason = f"{type(error).__name__}: {error}"
        logger.warning("Serving the baseline from %s, degraded: %s", settings.baseline_path, reason)
        return baseline_from_files(settings, contract, reason)


def baseline_from_files(settings: Settings, contract: DataContract, reason: str) -> LoadedModel:
    """The baseline read from its rules file: what answers, degraded, when a model fails."""
    rules = BaselineRules.load(settings.baseline_path, contract)
    return LoadedModel(
        predictor=ConfigBaseline(rules, contract.problem_type),
        name=settings.model_name,
        version="baseline-config",
        source=str(settings.baseline_path),
        degraded=True,
        reason=reason,
    )


def champion_reference(settings: Settings) -> tuple[ModelVersion, pd.DataFrame]:
    """The champion and the reference data it was registered with."""
    client = connect(settings)
    champion = champion_version(client, settings)
    if champion is None:
        raise ReferenceDataError(
            f"model '{settings.model_name}' has no '{CHAMPION}' alias: run `make setup`"
        )
    return champion, load_reference(client, champion)
