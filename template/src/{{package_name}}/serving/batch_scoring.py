"""Batch scoring of a CSV or Parquet file: validated with the contract's suite, then scored."""

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..contract.data_contract import DataContract, ExtraFields, FeatureType
from ..contract.schemas import records_frame
from ..data.files import read_table, write_table
from ..data.validation import DataValidationError, validate
from ..models.scoring import score

if TYPE_CHECKING:
    from ..models.registry import LoadedModel


def _rows(frame: pd.DataFrame, contract: DataContract) -> list[dict[str, object]]:
    """Records as the API would receive them: missing values as None, whole floats as ints."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    integers = [f.name for f in contract.features if f.type is FeatureType.INTEGER]
    for row in rows:
        for name in integers:
            value = row.get(name)
            if isinstance(value, float) and value.is_integer():
                row[name] = int(value)
    return [{str(key): value for key, value in row.items()} for row in rows]


def score_file(
    model: "LoadedModel",
    contract: DataContract,
    source: Path,
    *,
    output: Path,
    threshold: float,
    reports: Path,
    extra_columns: ExtraFields = ExtraFields.IGNORE,
) -> pd.DataFrame:
    """Validate every row of ``source``, score them all, write inputs and results to ``output``.

    A batch that fails validation is not scored at all; its reports go to ``reports``. Columns
    the contract does not name are carried to the output unscored (or refused).
    """
    frame = read_table(source, contract.text_columns)
    report = validate(frame, contract, source=str(source), extra_columns=extra_columns)
    if not report.passed:
        report.write(reports)
        raise DataValidationError(report)
    scored = score(model, records_frame(_rows(frame, contract), contract), threshold)
    result = pd.concat([frame.reset_index(drop=True), scored.reset_index(drop=True)], axis=1)
    result["model_version"] = model.version
    write_table(result, output)
    return result
