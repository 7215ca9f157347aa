"""Simulated traffic for the running service, optionally shifted, to watch drift appear.

Records are drawn from a labelled file (by default the training data), shifted by ``strength``
within the contract's ranges, and posted to ``/predict``; with ``feedback``, each true outcome
is posted to ``/feedback`` so that live performance shows up too.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd

from ..contract.data_contract import DataContract, FeatureType
from ..contract.schemas import as_booleans, as_timestamps


@dataclass(frozen=True)
class TrafficResult:
    """What the simulation sent and what the service said."""

    records: int
    feedback: int
    versions: set[str]


def shifted(
    frame: pd.DataFrame, contract: DataContract, strength: float, seed: int
) -> pd.DataFrame:
    """``frame`` moved away from its own distribution; ``strength`` 0 leaves it unchanged.

    Numbers move up by ``strength`` standard deviations (clipped to the contract's range);
    a share ``strength / 2`` of each category and boolean column takes its last value / true.
    """
    rng = np.random.default_rng(seed)
    moved = frame.copy()
    for feature in contract.features:
        column = frame[feature.name]
        if feature.type in (FeatureType.INTEGER, FeatureType.NUMBER):
            values = pd.to_numeric(column) + strength * float(pd.to_numeric(column).std())
            values = values.clip(feature.minimum, feature.maximum)
            moved[feature.name] = values.round() if feature.type is FeatureType.INTEGER else values
        elif feature.type is FeatureType.DATETIME:
            continue  # time moves on by itself
        else:
            chosen = rng.random(len(frame)) < strength / 2
            replacement: Any = (
                True if feature.type is FeatureType.BOOLEAN else (feature.values or ("",))[-1]
            )
            moved[feature.name] = column.where(~chosen | column.isna(), replacement)
    return moved


def json_records(frame: pd.DataFrame, contract: DataContract) -> list[dict[str, Any]]:
    """Rows as a caller sends them: the id and the features, JSON types, missing as null."""
    columns = [
        *([contract.id_column] if contract.id_column in frame else []),
        *contract.feature_names,
    ]
    frame = frame[columns].copy()
    for feature in contract.features:
        if feature.type is FeatureType.BOOLEAN:
            frame[feature.name] = as_booleans(frame[feature.name]).astype(object)
        elif feature.type is FeatureType.DATETIME:
            moments = as_timestamps(frame[feature.name])
            frame[feature.name] = moments.map(lambda moment: moment.isoformat()).where(
                moments.notna(), None
            )
    records: list[dict[str, Any]] = []
    for record in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            name = str(key)
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                clean[name] = None
            elif isinstance(value, np.generic):
                clean[name] = value.item()
            else:
                clean[name] = value
        if contract.id_column in clean and clean[contract.id_column] is not None:
            clean[contract.id_column] = str(clean[contract.id_column])
        records.append(clean)
    return records


def send_traffic(
    url: str,
    source: pd.DataFrame,
    contract: DataContract,
    *,
    rows: int,
    strength: float,
    batch_size: int = 50,
    feedback: bool = False,
    seed: int = 0,
    client: httpx.Client | None = None,
) -> TrafficResult:
    """Post ``rows`` records (shifted by ``strength``) to ``url``'s /predict in batches."""
    sample = source.sample(n=rows, replace=rows > len(source), random_state=seed)
    moved = shifted(sample.reset_index(drop=True), contract, strength, seed)
    records = json_records(moved, contract)
    outcomes: list[Any] = []
    if contract.target.name in moved:
        truth = moved[contract.target.name]
        outcomes = (truth.astype(str) if contract.target.classes else truth).tolist()
    http = client or httpx.Client(base_url=url, timeout=30)
    sent_feedback = 0
    versions: set[str] = set()
    try:
        for start in range(0, len(records), batch_size):
            response = http.post("/predict", json={"records": records[start : start + batch_size]})
            response.raise_for_status()
            body = response.json()
            versions.add(body["model_version"])
            if feedback and outcomes:
                for offset, result in enumerate(body["results"]):
                    outcome = outcomes[start + offset]
                    if outcome is None or outcome != outcome or outcome == "nan":  # noqa: PLR0124 - NaN: unlabelled
                        continue
                    http.post(
                        "/feedback",
                        json={"prediction_id": result["prediction_id"], "outcome": outcome},
                    ).raise_for_status()
                    sent_feedback += 1
    finally:
        if client is None:
            http.close()
    return TrafficResult(records=len(records), feedback=sent_feedback, versions=versions)
