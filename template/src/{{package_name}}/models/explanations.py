"""Why a trained model answered as it did: the features that moved each answer most.

The method is occlusion against a typical record: each feature in turn is set to its typical
value (median, or most frequent value) from the training data, and the change in the answer (the
predicted class's probability, or the predicted value) is that feature's effect. It works for any
model, in one extra batched call per request, and reads plainly: "tenure_months -0.21" means that
this record's tenure lowers the probability of the answer by 0.21 compared with a typical tenure.
"""

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ..contract.data_contract import DataContract, FeatureType
from ..contract.schemas import as_timestamps

TOP_FEATURES = 3
SHOWN = 0.005
"""Effects smaller than this round to 0.00 and are left out."""
MAX_LENGTH = 200  # the prediction log's explanation column


def typical_values(frame: pd.DataFrame, contract: DataContract) -> dict[str, Any]:
    """Per feature, the training data's median (numbers) or most frequent value (others)."""
    typical: dict[str, Any] = {}
    for feature in contract.features:
        column = frame[feature.name].dropna()
        if feature.type in (FeatureType.INTEGER, FeatureType.NUMBER):
            typical[feature.name] = float(column.median())
        elif feature.type is FeatureType.DATETIME:
            typical[feature.name] = pd.Timestamp(as_timestamps(column).median()).isoformat()
        else:
            value = column.mode().iloc[0]
            typical[feature.name] = value.item() if hasattr(value, "item") else value
    return typical


def effects(
    pipeline: Pipeline, features: pd.DataFrame, typical: dict[str, Any], answered: pd.DataFrame
) -> pd.DataFrame:
    """Each feature's effect on each row's answer (rows of ``features``, one column a feature)."""
    names = list(features.columns)
    rows = len(features)
    occluded = pd.concat(
        [features.assign(**{name: typical[name]}) for name in names], ignore_index=True
    )
    if "confidence" in answered and answered["confidence"].notna().all():
        classes = [str(label) for label in pipeline.classes_]
        chosen = [classes.index(str(label)) for label in answered["prediction"]]
        probabilities = np.asarray(pipeline.predict_proba(occluded)).reshape(len(names), rows, -1)
        without = probabilities[:, np.arange(rows), chosen]
        base = answered["confidence"].to_numpy(dtype="float64")
    else:
        without = np.asarray(pipeline.predict(occluded), dtype="float64").reshape(len(names), rows)
        base = answered["prediction"].to_numpy(dtype="float64")
    return pd.DataFrame((base[None, :] - without).T, columns=names, index=features.index)


def explain(
    pipeline: Pipeline, features: pd.DataFrame, typical: dict[str, Any], answered: pd.DataFrame
) -> list[str]:
    """One short text per row: the features that moved its answer most, with their effect."""
    texts = []
    for _, row in effects(pipeline, features, typical, answered).iterrows():
        top = row.abs().sort_values(ascending=False).head(TOP_FEATURES)
        parts = [f"{name} {row[name]:+.2f}" for name in top.index if abs(row[name]) >= SHOWN]
        text = "model; top features: " + ", ".join(parts) if parts else "model; typical record"
        texts.append(text[:MAX_LENGTH])
    return texts
