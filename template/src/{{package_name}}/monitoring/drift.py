"""Data and prediction drift with Evidently: live traffic against the champion's reference data.

Which columns are numerical or categorical comes from the data contract; Evidently picks the test
per column by type and sample size unless ``APP_DRIFT_METHOD`` pins one. Each column's verdict,
the test used and its score are read from Evidently's own results.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.data_contract import DataContract, FeatureType

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


def _comparable(frame: pd.DataFrame, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    """The columns with one dtype per kind, whatever file or log they came from."""
    return pd.DataFrame(
        {
            name: pd.to_numeric(frame[name], errors="coerce").astype("float64")
            if name in numeric
            else frame[name].astype("string")
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
) -> DriftReport:
    """Compare ``current`` with ``reference``: features, and predictions when both have them."""
    from evidently import DataDefinition, Dataset, Report  # noqa: PLC0415 - slow import
    from evidently.presets import DataDriftPreset  # noqa: PLC0415

    # Date-times move forward by nature: their drift would always alert, and says nothing.
    columns = [f.name for f in contract.features if f.type is not FeatureType.DATETIME]
    if PREDICTION in reference and PREDICTION in current:
        columns.append(PREDICTION)
    numeric = [
        f.name for f in contract.features if f.type in (FeatureType.INTEGER, FeatureType.NUMBER)
    ]
    if PREDICTION in columns and contract.target.classes is None:
        numeric.append(PREDICTION)
    definition = DataDefinition(
        numerical_columns=numeric,
        categorical_columns=[name for name in columns if name not in numeric],
    )
    report = Report(
        [DataDriftPreset(columns=columns, drift_share=share_threshold, method=method)],
        include_tests=True,
    )
    reference_data = _comparable(reference, columns, numeric)
    current_data = _within_reach(_comparable(current, columns, numeric), reference_data, numeric)
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
