"""Write a first data contract from a team's own data file (``contract infer``)."""

import math

import pandas as pd
from pandas.api import types as ptypes

from .contract import DataContract, Feature, FeatureType, ProblemType, Target

MAX_CATEGORIES = 50
"""A text column with more distinct values than this is not treated as a category."""

MAX_CLASSES = 20
"""An integer target with at most this many distinct values is read as class labels."""


class InferenceError(Exception):
    """The data cannot be described by a contract as it stands."""


def infer_contract(
    frame: pd.DataFrame,
    *,
    name: str,
    target: str,
    id_column: str | None = None,
    exclude: tuple[str, ...] = (),
    problem_type: ProblemType | None = None,
) -> DataContract:
    """Describe ``frame`` as a contract: observed ranges, categories and missing values.

    Args:
        frame: The data, with the target column.
        name: Name of the contract (a Python identifier).
        target: Column the model predicts.
        id_column: Column that identifies a row, if any; it is not a feature.
        exclude: Columns to leave out of the contract.
        problem_type: Force classification or regression instead of guessing from the target.
    """
    missing = [column for column in (target, id_column, *exclude) if column and column not in frame]
    if missing:
        raise InferenceError(
            f"column(s) not in the data: {', '.join(missing)}; "
            f"the data has: {', '.join(map(str, frame.columns))}"
        )
    skipped = {target, id_column, *exclude}
    features = tuple(
        _infer_feature(str(column), frame[column]) for column in frame if column not in skipped
    )
    if not features:
        raise InferenceError("no feature columns left once target, id and excluded columns are out")
    return DataContract(
        name=name,
        description=f"Inferred from data with {len(frame)} rows; review ranges and categories.",
        id_column=id_column,
        target=_infer_target(target, frame[target], problem_type),
        features=features,
    )


def _infer_feature(name: str, column: pd.Series) -> Feature:
    nullable = bool(column.isna().any())
    present = column.dropna()
    if present.empty:
        raise InferenceError(f"column '{name}' has no values; exclude it with --exclude {name}")
    if ptypes.is_bool_dtype(column):
        return Feature(name=name, type=FeatureType.BOOLEAN, nullable=nullable)
    if ptypes.is_integer_dtype(present) or (nullable and _holds_whole_numbers(present)):
        return Feature(
            name=name,
            type=FeatureType.INTEGER,
            nullable=nullable,
            minimum=float(present.min()),
            maximum=float(present.max()),
        )
    if ptypes.is_numeric_dtype(present):
        return Feature(
            name=name,
            type=FeatureType.NUMBER,
            nullable=nullable,
            minimum=_round_down(float(present.min())),
            maximum=_round_up(float(present.max())),
        )
    values = sorted(present.astype(str).unique())
    if len(values) > MAX_CATEGORIES:
        raise InferenceError(
            f"column '{name}' has {len(values)} distinct text values; a category may have at most "
            f"{MAX_CATEGORIES}. Encode it, or leave it out with --exclude {name}"
        )
    return Feature(name=name, type=FeatureType.CATEGORY, nullable=nullable, values=tuple(values))


def _infer_target(name: str, column: pd.Series, problem_type: ProblemType | None) -> Target:
    if column.isna().any():
        raise InferenceError(f"target '{name}' has missing values; drop those rows first")
    labels = sorted(column.astype(str).unique())
    looks_like_classes = not ptypes.is_float_dtype(column) and (
        not ptypes.is_numeric_dtype(column) or len(labels) <= MAX_CLASSES
    )
    if problem_type is None:
        problem_type = (
            ProblemType.MULTICLASS_CLASSIFICATION
            if looks_like_classes and len(labels) > 2  # noqa: PLR2004
            else ProblemType.BINARY_CLASSIFICATION
            if looks_like_classes
            else ProblemType.REGRESSION
        )
    if problem_type is ProblemType.REGRESSION:
        if not ptypes.is_numeric_dtype(column):
            raise InferenceError(
                f"target '{name}' is not numeric, so it cannot be a regression target"
            )
        return Target(
            name=name,
            minimum=_round_down(float(column.min())),
            maximum=_round_up(float(column.max())),
        )
    expected_two = problem_type is ProblemType.BINARY_CLASSIFICATION
    if expected_two != (len(labels) == 2):  # noqa: PLR2004
        raise InferenceError(
            f"target '{name}' has {len(labels)} classes, which does not fit {problem_type.value}"
        )
    return Target(name=name, classes=tuple(labels))


def _holds_whole_numbers(column: pd.Series) -> bool:
    """Integers read as floats because of missing values (pandas has no NaN in int64)."""
    return ptypes.is_float_dtype(column) and bool((column == column.round()).all())


def _round_down(value: float) -> float:
    return float(math.floor(value * 100) / 100)


def _round_up(value: float) -> float:
    return float(math.ceil(value * 100) / 100)
