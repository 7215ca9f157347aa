"""A scikit-learn pipeline chosen by problem type, with its features laid out by the contract."""

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..config.training import Estimator, ModelConfig
from ..contract.data_contract import DataContract, FeatureType
from ..contract.schemas import as_timestamps, cast_features

MISSING = "__missing__"

ESTIMATORS: dict[tuple[Estimator, bool], type[BaseEstimator]] = {
    (Estimator.HIST_GRADIENT_BOOSTING, True): HistGradientBoostingClassifier,
    (Estimator.HIST_GRADIENT_BOOSTING, False): HistGradientBoostingRegressor,
    (Estimator.RANDOM_FOREST, True): RandomForestClassifier,
    (Estimator.RANDOM_FOREST, False): RandomForestRegressor,
    (Estimator.LINEAR, True): LogisticRegression,
    (Estimator.LINEAR, False): Ridge,
}
"""(estimator, is classification) -> scikit-learn class."""


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories and booleans as text, with missing values as their own category."""
    return frame.astype(object).where(frame.notna(), MISSING).astype(str)


DATE_PARTS = ("year", "month", "day of week", "hour")
"""What a model learns from a date-time feature."""


def date_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """Year, month, day of week and hour of each date-time column, as numbers."""
    parts: dict[str, pd.Series] = {}
    for name in frame.columns:
        moments = as_timestamps(frame[name])
        values = (moments.dt.year, moments.dt.month, moments.dt.dayofweek, moments.dt.hour)
        for part, value in zip(DATE_PARTS, values, strict=True):
            parts[f"{name} {part}"] = value
    return pd.DataFrame(parts, index=frame.index).astype("float64")


def date_part_names(_: object, names: list[str]) -> list[str]:
    """The names of :func:`date_parts`' columns (for scikit-learn's feature names)."""
    return [f"{name} {part}" for name in names for part in DATE_PARTS]


def build_pipeline(contract: DataContract, config: ModelConfig) -> Pipeline:
    """Preprocessing from the contract, then the configured estimator."""
    numeric = [
        f.name for f in contract.features if f.type in (FeatureType.INTEGER, FeatureType.NUMBER)
    ]
    dates = [f.name for f in contract.features if f.type is FeatureType.DATETIME]
    categorical = [f for f in contract.features if f.name not in numeric and f.name not in dates]
    categories = [[*(f.values if f.values else ("False", "True")), MISSING] for f in categorical]
    scale = [StandardScaler()] if config.estimator is Estimator.LINEAR else []
    preprocess = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), *scale),
                numeric,
            ),
            (
                "categories",
                make_pipeline(
                    FunctionTransformer(as_text, feature_names_out="one-to-one"),
                    OneHotEncoder(
                        categories=categories, handle_unknown="ignore", sparse_output=False
                    ),
                ),
                [f.name for f in categorical],
            ),
            (
                "dates",
                make_pipeline(
                    FunctionTransformer(date_parts, feature_names_out=date_part_names),
                    SimpleImputer(strategy="median"),
                    *scale,
                ),
                dates,
            ),
        ]
    )
    estimator_class = ESTIMATORS[(config.estimator, contract.target.classes is not None)]
    params: dict[str, Any] = dict(config.params)
    if "random_state" in estimator_class().get_params():
        params.setdefault("random_state", 0)
    return Pipeline([("preprocess", preprocess), ("model", estimator_class(**params))])


def train(frame: pd.DataFrame, contract: DataContract, config: ModelConfig) -> Pipeline:
    """Fit a pipeline on the rows of ``frame`` that have a label."""
    pipeline = build_pipeline(contract, config)
    frame = frame[frame[contract.target.name].notna()]
    target = frame[contract.target.name]
    labels = target.astype(str) if contract.target.classes else pd.to_numeric(target)
    pipeline.fit(cast_features(frame, contract), labels)
    return pipeline


def predict_frame(pipeline: Pipeline, features: pd.DataFrame, classification: bool) -> pd.DataFrame:
    """Prediction, confidence and rule columns, the output every model of this project has."""
    if not classification:
        values = np.asarray(pipeline.predict(features), dtype="float64")
        return pd.DataFrame(
            {"prediction": values, "confidence": np.nan, "rule": "model"}, index=features.index
        )
    probabilities = np.asarray(pipeline.predict_proba(features), dtype="float64")
    best = probabilities.argmax(axis=1)
    return pd.DataFrame(
        {
            "prediction": np.asarray(pipeline.classes_)[best].astype(str),
            "confidence": probabilities.max(axis=1),
            "rule": "model",
        },
        index=features.index,
    )
