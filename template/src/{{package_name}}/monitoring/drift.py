"""Data and prediction drift with Evidently: live traffic against the champion's reference data.

Which columns are numerical or categorical comes from the data contract; an open category's
values that the contract does not list count as one. Each column's test and
threshold are calibrated on the reference for the window's size (drift_calibration.py): windows
drawn from the reference alarm at most ``APP_DRIFT_FALSE_ALARM_RATE`` of the time. A test pinned
by ``APP_DRIFT_METHOD`` keeps Evidently's threshold. Each column's verdict, the test used and its
score are read from Evidently's own results.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config.settings import DRIFT_FALSE_ALARM_RATE
from ..contract.data_contract import OTHER, DataContract, FeatureType
from .drift_calibration import calibrated_tests

PREDICTION = "prediction"


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict for one column."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """Per-feature drift, the share of drifted features, and prediction drift."""

    reference_rows: int
    current_rows: int
    features: list[ColumnDrift]
    prediction: ColumnDrift | None

    @property
    def drifted_features(self) -> list[str]:
        """Names of the features whose distribution moved."""
        return [column.column for column in self.features if column.drifted]

    @property
    def share(self) -> float:
        """Share of the features that drifted."""
        return len(self.drifted_features) / max(len(self.features), 1)


@dataclass(frozen=True)
class DriftReport:
    """The result for machines, and Evidently's report for people."""

    result: DriftResult
    snapshot: Any

    def save_html(self, path: Path) -> None:
        """Write Evidently's self-contained HTML report."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshot.save_html(str(path))


def drift_columns(contract: DataContract, *, predictions: bool) -> tuple[list[str], list[str]]:
    """The columns drift judges, and those of them that are numbers."""
    # Date-times move forward by nature: their drift would always alert, and says nothing.
    columns = [f.name for f in contract.features if f.type is not FeatureType.DATETIME]
    numeric = [
        f.name for f in contract.features if f.type in (FeatureType.INTEGER, FeatureType.NUMBER)
    ]
    if predictions:
        columns.append(PREDICTION)
        if contract.target.classes is None:
            numeric.append(PREDICTION)
    return columns, numeric


def comparable(
    frame: pd.DataFrame,
    columns: list[str],
    numeric: list[str],
    grouped: dict[str, frozenset[str]],
) -> pd.DataFrame:
    """The columns with one dtype per kind, whatever file or log they came from.

    ``grouped`` (the contract's open categories): values they do not list count as one, OTHER.
    """

    def text(name: str) -> pd.Series:
        values = frame[name].astype("string")
        if name not in grouped:
            return values
        return values.where(values.isna() | values.isin(grouped[name]), OTHER)

    return pd.DataFrame(
        {
            name: pd.to_numeric(frame[name], errors="coerce").astype("float64")
            if name in numeric
            else text(name)
            for name in columns
        }
    )


FAR = 1_000
"""Spans of the reference beyond which a current value is held at that distance."""


def _within_reach(
    current: pd.DataFrame, reference: pd.DataFrame, numeric: list[str]
) -> pd.DataFrame:
    """``current`` with numbers held within ``FAR`` spans of the reference's range.

    Values beyond observed limits are answered, so the window can hold 1e308: Evidently's
    histograms then overflow and the run fails. Held that far away, such a value still drifts,
    and its share beyond the limits is reported by monitoring as it was sent.
    """
    held = current.copy()
    for name in numeric:
        known = reference[name].dropna()
        if name not in held or known.empty:
            continue
        low, high = float(known.min()), float(known.max())
        reach = (high - low or abs(high) or 1.0) * FAR
        held[name] = held[name].clip(low - reach, high + reach)
    return held


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    contract: DataContract,
    *,
    share_threshold: float = 0.5,
    method: str | None = None,
    false_alarm_rate: float = DRIFT_FALSE_ALARM_RATE,
) -> DriftReport:
    """Compare ``current`` with ``reference``: features, and predictions when both have them.

    Unless ``method`` pins Evidently's test, each column's threshold holds ``false_alarm_rate``
    for a window of ``current``'s size.
    """
    from evidently import DataDefinition, Dataset, Report  # noqa: PLC0415 - slow import
    from evidently.presets import DataDriftPreset  # noqa: PLC0415

    columns, numeric = drift_columns(
        contract, predictions=PREDICTION in reference and PREDICTION in current
    )
    definition = DataDefinition(
        numerical_columns=numeric,
        categorical_columns=[name for name in columns if name not in numeric],
    )
    grouped = contract.open_categories
    reference_data = comparable(reference, columns, numeric, grouped)
    current_data = _within_reach(
        comparable(current, columns, numeric, grouped), reference_data, numeric
    )
    tests = (
        {}
        if method
        else calibrated_tests(
            reference_data, current_data, numeric, false_alarm_rate=false_alarm_rate
        )
    )
    preset = DataDriftPreset(
        columns=columns,
        drift_share=share_threshold,
        method=method,
        per_column_method={name: test.method for name, test in tests.items()} or None,
        per_column_threshold={name: test.threshold for name, test in tests.items()} or None,
    )
    report = Report([preset], include_tests=True)
    snapshot = report.run(
        current_data=Dataset.from_pandas(current_data, data_definition=definition),
        reference_data=Dataset.from_pandas(reference_data, data_definition=definition),
    )
    verdicts = _column_verdicts(snapshot.dict())
    return DriftReport(
        result=DriftResult(
            reference_rows=len(reference),
            current_rows=len(current),
            features=[verdicts[name] for name in columns if name != PREDICTION],
            prediction=verdicts.get(PREDICTION),
        ),
        snapshot=snapshot,
    )


def _column_verdicts(document: dict[str, Any]) -> dict[str, ColumnDrift]:
    """Each column's test, score and verdict, from an Evidently snapshot's ``dict()``."""
    failed = {
        test["metric_config"]["metric_id"]
        for test in document["tests"]
        if str(test["status"]).endswith("FAIL")
    }
    verdicts: dict[str, ColumnDrift] = {}
    for metric in document["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        verdicts[config["column"]] = ColumnDrift(
            column=config["column"],
            method=config["method"],
            score=float(metric["value"]),
            threshold=float(config["threshold"]),
            drifted=metric["id"] in failed,
        )
    return verdicts
