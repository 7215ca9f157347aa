"""Batch scoring of a CSV or Parquet file: validated with the contract's suite, then scored.

Both passes read the file in chunks (``APP_CHUNK_ROWS``), so memory stays flat in its length.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..contract.data_contract import DataContract, ExtraFields, FeatureType
from ..contract.schemas import records_frame
from ..data.files import Source, TableChunks, TableWriter
from ..data.validation import DataValidationError, validate_chunks
from ..models.scoring import score

if TYPE_CHECKING:
    from ..models.registry import LoadedModel


@dataclass(frozen=True)
class BatchScores:
    """What a batch run wrote."""

    rows: int
    flagged: int
    """Rows whose confidence is below the review threshold (needs_review)."""


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
    source: Source,
    *,
    output: Path,
    threshold: float,
    reports: Path,
    chunk_rows: int | None,
    extra_columns: ExtraFields = ExtraFields.IGNORE,
) -> BatchScores:
    """Validate every row of ``source``, score them all, write inputs and results to ``output``.

    ``source`` is a file or a database table.

    A batch that fails validation is not scored at all; its reports go to ``reports``. Columns
    the contract does not name are carried to the output unscored (or refused). The file is
    read ``chunk_rows`` rows at a time (``None``: whole); the output is the same either way.
    """
    chunks = TableChunks(source, contract.text_columns, chunk_rows)
    report = validate_chunks(chunks, contract, source=str(source), extra_columns=extra_columns)
    if not report.passed:
        report.write(reports)
        raise DataValidationError(report)
    rows = flagged = 0
    with TableWriter(output) as writer:
        for frame in chunks:
            scored = score(model, records_frame(_rows(frame, contract), contract), threshold)
            result = pd.concat(
                [frame.reset_index(drop=True), scored.reset_index(drop=True)], axis=1
            )
            result["model_version"] = model.version
            writer.write(result)
            rows += len(result)
            flagged += int(result["needs_review"].sum())
    return BatchScores(rows, flagged)
